//! `stepwise model summary`: a layer table with output shapes and parameter counts.

use std::fmt;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::arch::ResNetConfig;
use crate::resnet::{Layer, ResNet};

/// One row of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// Name, as the prefix of PyTorch's `state_dict` keys (`layer2.0`).
    pub name: String,
    /// What the layer is.
    pub kind: String,
    /// Output shape for one image: channels, height, width (or just features).
    pub output: Vec<usize>,
    /// Trainable parameters in this layer.
    pub params: usize,
}

/// A network's layers, their output shapes for one input image and their parameter counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Layers in order, the head last.
    pub rows: Vec<SummaryRow>,
    /// Trainable parameters of the whole network (the sum of the rows). Batch norm's running
    /// statistics are state, not parameters, as in PyTorch's count.
    pub total_params: usize,
}

impl Summary {
    /// Runs one `[1, 3, height, width]` image of zeros through `model` layer by layer on its
    /// device and records what comes out of each.
    pub fn of(
        model: &ResNet,
        config: &ResNetConfig,
        [height, width]: [usize; 2],
        device: &Device,
    ) -> Self {
        let block = config.block.name();
        let mut rows = Vec::new();
        let mut x = Tensor::<4>::zeros([1, 3, height, width], device);
        for layer in model.layers() {
            x = layer.forward(x);
            let kind = match &layer {
                Layer::Stem(_) => "Conv3x3 + BN + ReLU".to_string(),
                _ if layer.has_projection() => format!("{block} (1x1 projection)"),
                _ => block.to_string(),
            };
            rows.push(SummaryRow {
                name: layer.name().to_string(),
                kind,
                output: x.dims()[1..].to_vec(),
                params: layer.trainable_params(),
            });
        }
        let channels = x.dims()[1];
        let logits = model.classify(x);
        rows.push(SummaryRow {
            name: "pool".to_string(),
            kind: "GlobalAvgPool".to_string(),
            output: vec![channels],
            params: 0,
        });
        rows.push(SummaryRow {
            name: "fc".to_string(),
            kind: "Linear".to_string(),
            output: logits.dims()[1..].to_vec(),
            params: model.head().num_params(),
        });
        Self {
            rows,
            total_params: model.trainable_params(),
        }
    }
}

/// `23520842` as `23,520,842`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = |dims: &[usize]| {
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" x ")
        };
        let width = |column: &dyn Fn(&SummaryRow) -> usize, title: &str| {
            self.rows
                .iter()
                .map(column)
                .max()
                .unwrap_or(0)
                .max(title.len())
        };
        let name_w = width(&|r| r.name.len(), "layer");
        let kind_w = width(&|r| r.kind.len(), "type");
        let shape_w = width(&|r| shape(&r.output).len(), "output");
        let params_w = width(&|r| thousands(r.params).len(), "parameters");
        writeln!(
            f,
            "{:name_w$}  {:kind_w$}  {:shape_w$}  {:>params_w$}",
            "layer", "type", "output", "parameters"
        )?;
        writeln!(
            f,
            "{}",
            "-".repeat(name_w + kind_w + shape_w + params_w + 6)
        )?;
        for row in &self.rows {
            writeln!(
                f,
                "{:name_w$}  {:kind_w$}  {:shape_w$}  {:>params_w$}",
                row.name,
                row.kind,
                shape(&row.output),
                thousands(row.params)
            )?;
        }
        writeln!(
            f,
            "{}",
            "-".repeat(name_w + kind_w + shape_w + params_w + 6)
        )?;
        write!(f, "Total parameters: {}", thousands(self.total_params))
    }
}
