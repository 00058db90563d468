//! Which ResNet: the named architectures and the configuration they expand to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The residual block a ResNet is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// Two 3x3 convolutions (ResNet-18/34 and the small CIFAR ResNets).
    Basic,
    /// 1x1 reduce, 3x3, 1x1 expand by 4 (ResNet-50 and deeper).
    Bottleneck,
}

impl BlockKind {
    /// Output channels per unit of stage width.
    pub fn expansion(self) -> usize {
        match self {
            Self::Basic => 1,
            Self::Bottleneck => 4,
        }
    }

    /// The block's name in summaries, as in PyTorch code.
    pub fn name(self) -> &'static str {
        match self {
            Self::Basic => "BasicBlock",
            Self::Bottleneck => "Bottleneck",
        }
    }
}

/// One stage: `blocks` residual blocks of the same width; the first one of every stage but the
/// first halves the resolution (stride 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageConfig {
    /// Width of the block's 3x3 convolutions; the stage outputs `width * expansion` channels.
    pub width: usize,
    /// Number of residual blocks.
    pub blocks: usize,
}

/// A CIFAR-form ResNet: 3x3 stem convolution at stride 1 (no max-pool), residual stages, global
/// average pool and a linear head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Residual block type.
    pub block: BlockKind,
    /// Output channels of the stem convolution.
    pub stem_width: usize,
    /// The stages, in order.
    pub stages: Vec<StageConfig>,
    /// Number of classes of the linear head.
    pub num_classes: usize,
}

/// Why a configuration cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// A width, block count or class count of zero, or no stages.
    #[error("invalid ResNet configuration: {0}")]
    InvalidConfig(String),
    /// An unknown architecture name.
    #[error("unknown architecture '{name}' (expected one of: {known})")]
    UnknownArch {
        /// The name given.
        name: String,
        /// The names accepted.
        known: String,
    },
}

impl ResNetConfig {
    /// Checks that every size is positive.
    pub fn validate(&self) -> Result<(), ModelError> {
        let invalid = |what: &str| Err(ModelError::InvalidConfig(what.to_string()));
        if self.stem_width == 0 {
            return invalid("stem_width must be at least 1");
        }
        if self.num_classes == 0 {
            return invalid("num_classes must be at least 1");
        }
        if self.stages.is_empty() {
            return invalid("at least one stage is needed");
        }
        if let Some(i) = self
            .stages
            .iter()
            .position(|s| s.width == 0 || s.blocks == 0)
        {
            return invalid(&format!(
                "stage {} needs a width and a block count of at least 1",
                i + 1
            ));
        }
        Ok(())
    }
}

/// The architectures Stepwise ships, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum), value(rename_all = "lower"))]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// He et al.'s CIFAR ResNet with 1 block per stage (16/32/64 wide): ~78 k parameters; the browser's.
    ResNet8,
    /// 2 blocks per stage: ~0.17 M parameters.
    ResNet14,
    /// He et al.'s ResNet-20 (3 blocks per stage): ~0.27 M parameters; CI's and a laptop's.
    ResNet20,
    /// pytorch-cifar's ResNet18: 11,173,962 parameters for 10 classes.
    ResNet18,
    /// pytorch-cifar's ResNet34: 21,282,122 parameters for 10 classes.
    ResNet34,
    /// pytorch-cifar's ResNet50: 23,520,842 parameters for 10 classes; the study's network.
    ResNet50,
}

impl Arch {
    /// Every architecture, smallest first.
    pub const ALL: [Arch; 6] = [
        Self::ResNet8,
        Self::ResNet14,
        Self::ResNet20,
        Self::ResNet18,
        Self::ResNet34,
        Self::ResNet50,
    ];

    /// The lower-case name used on the command line and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::ResNet8 => "resnet8",
            Self::ResNet14 => "resnet14",
            Self::ResNet20 => "resnet20",
            Self::ResNet18 => "resnet18",
            Self::ResNet34 => "resnet34",
            Self::ResNet50 => "resnet50",
        }
    }

    /// The configuration this architecture stands for, with `num_classes` outputs.
    pub fn config(self, num_classes: usize) -> ResNetConfig {
        let stages = |block, widths: &[usize], blocks: &[usize]| ResNetConfig {
            block,
            stem_width: widths[0],
            stages: widths
                .iter()
                .zip(blocks)
                .map(|(&width, &blocks)| StageConfig { width, blocks })
                .collect(),
            num_classes,
        };
        const CIFAR: [usize; 3] = [16, 32, 64];
        const IMAGENET: [usize; 4] = [64, 128, 256, 512];
        match self {
            Self::ResNet8 => stages(BlockKind::Basic, &CIFAR, &[1, 1, 1]),
            Self::ResNet14 => stages(BlockKind::Basic, &CIFAR, &[2, 2, 2]),
            Self::ResNet20 => stages(BlockKind::Basic, &CIFAR, &[3, 3, 3]),
            Self::ResNet18 => stages(BlockKind::Basic, &IMAGENET, &[2, 2, 2, 2]),
            Self::ResNet34 => stages(BlockKind::Basic, &IMAGENET, &[3, 4, 6, 3]),
            Self::ResNet50 => stages(BlockKind::Bottleneck, &IMAGENET, &[3, 4, 6, 3]),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = ModelError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|arch| arch.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ModelError::UnknownArch {
                name: name.to_string(),
                known: Self::ALL.map(Arch::name).join(", "),
            })
    }
}
