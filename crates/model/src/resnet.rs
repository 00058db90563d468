//! The network: convolution + batch norm units, residual blocks, stages, head.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::arch::{BlockKind, ModelError, ResNetConfig};
use crate::init::HostInit;
use crate::norm::BatchNorm2d;

/// A bias-free `k x k` convolution followed by batch norm (the unit every ResNet is made of).
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    norm: BatchNorm2d,
}

impl ConvBn {
    fn new(
        init: &mut HostInit,
        [input, output]: [usize; 2],
        kernel: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        let pad = kernel / 2;
        let mut conv = Conv2dConfig::new([input, output], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(device);
        conv.weight = init.uniform(
            [output, input, kernel, kernel],
            input * kernel * kernel,
            device,
        );
        Self {
            conv,
            norm: BatchNorm2d::new(output, device),
        }
    }

    fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        self.norm.forward(self.conv.forward(input))
    }

    fn trainable_params(&self) -> usize {
        self.conv.num_params() + self.norm.trainable_params()
    }
}

/// A residual block: its units with ReLU between them, plus the shortcut (identity, or a strided
/// 1x1 projection where the shape changes), then ReLU.
#[derive(Module, Debug)]
pub struct Residual {
    units: Vec<ConvBn>,
    shortcut: Option<ConvBn>,
}

impl Residual {
    fn new(
        init: &mut HostInit,
        block: BlockKind,
        input: usize,
        width: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        let output = width * block.expansion();
        let units = match block {
            BlockKind::Basic => vec![
                ConvBn::new(init, [input, width], 3, stride, device),
                ConvBn::new(init, [width, width], 3, 1, device),
            ],
            // The stride sits on the 3x3 convolution, as in pytorch-cifar and torchvision v1.5.
            BlockKind::Bottleneck => vec![
                ConvBn::new(init, [input, width], 1, 1, device),
                ConvBn::new(init, [width, width], 3, stride, device),
                ConvBn::new(init, [width, output], 1, 1, device),
            ],
        };
        let shortcut = (stride != 1 || input != output)
            .then(|| ConvBn::new(init, [input, output], 1, stride, device));
        Self { units, shortcut }
    }

    fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let last = self.units.len() - 1;
        let mut out = input.clone();
        for (i, unit) in self.units.iter().enumerate() {
            out = unit.forward(out);
            if i < last {
                out = relu(out);
            }
        }
        let skip = match &self.shortcut {
            Some(projection) => projection.forward(input),
            None => input,
        };
        relu(out + skip)
    }

    fn trainable_params(&self) -> usize {
        self.units
            .iter()
            .chain(&self.shortcut)
            .map(ConvBn::trainable_params)
            .sum()
    }
}

/// Residual blocks of one width.
#[derive(Module, Debug)]
pub struct Stage {
    blocks: Vec<Residual>,
}

/// A CIFAR-form ResNet (see [`ResNetConfig`]): input `[batch, 3, height, width]`, normalised
/// images; output `[batch, num_classes]` logits.
#[derive(Module, Debug)]
pub struct ResNet {
    stem: ConvBn,
    stages: Vec<Stage>,
    head: Linear,
}

impl ResNet {
    /// Builds the network on `device` with initial weights drawn from `seed` (the same seed gives
    /// the same weights on every backend). Batch norm starts at scale 1, shift 0.
    pub fn new(config: &ResNetConfig, seed: u64, device: &Device) -> Result<Self, ModelError> {
        config.validate()?;
        let mut init = HostInit::new(seed);
        let stem = ConvBn::new(&mut init, [3, config.stem_width], 3, 1, device);
        let mut channels = config.stem_width;
        let stages = config
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| {
                let blocks = (0..stage.blocks)
                    .map(|b| {
                        let stride = if index > 0 && b == 0 { 2 } else { 1 };
                        let block = Residual::new(
                            &mut init,
                            config.block,
                            channels,
                            stage.width,
                            stride,
                            device,
                        );
                        channels = stage.width * config.block.expansion();
                        block
                    })
                    .collect();
                Stage { blocks }
            })
            .collect();
        let mut head = LinearConfig::new(channels, config.num_classes)
            .with_initializer(Initializer::Zeros)
            .init(device);
        let weight_shape = head.weight.shape().dims::<2>();
        head.weight = init.uniform(weight_shape, channels, device);
        head.bias = Some(init.uniform([config.num_classes], channels, device));
        Ok(Self { stem, stages, head })
    }

    /// Trainable parameters, as PyTorch counts them (`sum(p.numel() for p in model.parameters())`):
    /// burn's `num_params` also counts batch norm's running statistics.
    pub fn trainable_params(&self) -> usize {
        self.layers()
            .map(|layer| layer.trainable_params())
            .sum::<usize>()
            + self.head.num_params()
    }

    /// Logits for a batch of images.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.layers().fold(images, |x, layer| layer.forward(x));
        self.classify(features)
    }

    /// The head: global average pool, then the linear classifier.
    pub(crate) fn classify(&self, features: Tensor<4>) -> Tensor<2> {
        let [batch, channels, _, _] = features.dims();
        let pooled = features.mean_dim(3).mean_dim(2).reshape([batch, channels]);
        self.head.forward(pooled)
    }

    /// The feature layers in order, with their names as in PyTorch's `state_dict` keys.
    pub(crate) fn layers(&self) -> impl Iterator<Item = Layer<'_>> {
        let stem = std::iter::once(Layer::Stem(&self.stem));
        let blocks = self.stages.iter().enumerate().flat_map(|(s, stage)| {
            stage
                .blocks
                .iter()
                .enumerate()
                .map(move |(b, block)| Layer::Block(format!("layer{}.{b}", s + 1), block))
        });
        stem.chain(blocks)
    }

    /// The linear classifier.
    pub(crate) fn head(&self) -> &Linear {
        &self.head
    }
}

/// One feature layer of a [`ResNet`], for running it piece by piece (the summary does).
pub(crate) enum Layer<'a> {
    /// Stem convolution, batch norm and ReLU.
    Stem(&'a ConvBn),
    /// A residual block and its name.
    Block(String, &'a Residual),
}

impl Layer<'_> {
    pub(crate) fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Stem(unit) => relu(unit.forward(input)),
            Self::Block(_, block) => block.forward(input),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Stem(_) => "stem",
            Self::Block(name, _) => name,
        }
    }

    pub(crate) fn trainable_params(&self) -> usize {
        match self {
            Self::Stem(unit) => unit.trainable_params(),
            Self::Block(_, block) => block.trainable_params(),
        }
    }

    pub(crate) fn has_projection(&self) -> bool {
        matches!(self, Self::Block(_, block) if block.shortcut.is_some())
    }
}
