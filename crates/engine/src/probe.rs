//! The optimizer step of one run over a whole model, in module order, with the measurements taken
//! on the way (gradient norm, update/weight ratio, per-element step sizes).
//!
//! Stepwise applies its optimizers itself rather than through burn's `ModuleOptimizer`: the state of
//! parameter `k` (in module visiting order) lives at index `k`, where metrics can read it and a
//! checkpoint can name it without depending on burn's randomly drawn parameter ids.

use burn::module::{ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor, TensorData};
use stepwise_gpu::{TensorState, TensorStep};
use stepwise_optim::StepScalars;

use crate::Compute;
use crate::metrics::Spread;

/// At most this many elements of the second moment enter the median step size (a strided sample
/// over all parameters); minimum and maximum are exact.
pub const STEP_SIZE_SAMPLE: usize = 65_536;

/// Device-side sums and extremes of one step, read back with the loss in one transfer.
#[derive(Default)]
pub(crate) struct Probes {
    grad_sq: Vec<Tensor<1>>,
    delta_sq: Vec<Tensor<1>>,
    weight_sq: Vec<Tensor<1>>,
    v_min: Vec<Tensor<1>>,
    v_max: Vec<Tensor<1>>,
    v_sample: Vec<Tensor<1>>,
}

/// Where each probe sits in the read-back vector.
pub(crate) struct ProbeLayout {
    counts: [usize; 6],
}

impl Probes {
    /// Every probe tensor, in a fixed order, and where each group lies.
    pub(crate) fn into_parts(self) -> (Vec<Tensor<1>>, ProbeLayout) {
        let groups = [
            self.grad_sq,
            self.delta_sq,
            self.weight_sq,
            self.v_min,
            self.v_max,
            self.v_sample,
        ];
        let counts = [0, 1, 2, 3, 4, 5].map(|i| groups[i].iter().map(|t| t.dims()[0]).sum());
        (
            groups.into_iter().flatten().collect(),
            ProbeLayout { counts },
        )
    }
}

/// The measurements of one step, from the read-back probe values.
pub(crate) struct Measured {
    pub grad_norm: f32,
    pub update_ratio: f32,
    pub weight_norm: f32,
    pub step_size: Option<Spread>,
}

impl ProbeLayout {
    pub(crate) fn len(&self) -> usize {
        self.counts.iter().sum()
    }

    pub(crate) fn measure(&self, values: &[f32], scalars: &StepScalars) -> Measured {
        let mut groups = Vec::with_capacity(6);
        let mut start = 0;
        for count in self.counts {
            groups.push(&values[start..start + count]);
            start += count;
        }
        let sum = |g: &[f32]| g.iter().map(|&v| f64::from(v)).sum::<f64>();
        let grad_norm = sum(groups[0]).sqrt() as f32;
        let weight_norm = sum(groups[2]).sqrt();
        let update_ratio = (sum(groups[1]).sqrt() / weight_norm) as f32;
        let step_size = if scalars.second_moment_buffer().is_some() {
            let v_max = groups[4].iter().copied().fold(f32::NEG_INFINITY, nan_max);
            let v_min = groups[3].iter().copied().fold(f32::INFINITY, nan_min);
            let median = median(groups[5]);
            // Step size falls as v̂ grows: the largest v̂ gives the smallest step.
            Some(Spread {
                min: scalars.step_size(v_max),
                median: scalars.step_size(median),
                max: scalars.step_size(v_min),
            })
        } else {
            let size = scalars.step_size(0.0);
            Some(Spread {
                min: size,
                median: size,
                max: size,
            })
        };
        Measured {
            grad_norm,
            update_ratio,
            weight_norm: weight_norm as f32,
            step_size,
        }
    }
}

fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

/// The median (lower middle for even counts); NaN for none, or if any value is NaN.
fn median(values: &[f32]) -> f32 {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return f32::NAN;
    }
    let mut sorted = values.to_vec();
    let middle = (sorted.len() - 1) / 2;
    let (_, m, _) = sorted.select_nth_unstable_by(middle, f32::total_cmp);
    *m
}

/// A [`ModuleMapper`] applying one optimizer step to every parameter that has a gradient: the
/// fused kernels on the GPU, the CPU reference on the CPU.
pub(crate) struct Update<'a> {
    pub step: &'a TensorStep,
    pub compute: Compute,
    pub grads: GradientsParams,
    pub states: &'a mut Vec<Option<TensorState>>,
    /// Sampling stride over all elements, for the median step size.
    pub sample_stride: usize,
    /// Per tensor, the indices of its sampled elements: uploaded on the first metrics step.
    pub samples: &'a mut Vec<Option<Tensor<1, Int>>>,
    pub probes: Option<Probes>,
    pub index: usize,
}

impl ModuleMapper for Update<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let index = self.index;
        self.index += 1;
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            // Batch norm's running statistics: buffers, not parameters.
            return Param::from_mapped_value(id, tensor, mapper);
        };
        if self.states.len() <= index {
            self.states.resize(index + 1, None);
        }
        let old = tensor.inner();
        if let Some(probes) = &mut self.probes {
            probes.grad_sq.push(grad.clone().square().sum());
            probes.weight_sq.push(old.clone().square().sum());
        }
        let previous = self.probes.is_some().then(|| old.clone());
        let state = self.states[index].take();
        let (updated, state) = match self.compute {
            Compute::Gpu(_) => self.step.fused(old, grad, state),
            Compute::Cpu => self.step.reference(old, grad, state),
        };
        if let (Some(probes), Some(previous)) = (&mut self.probes, previous) {
            probes
                .delta_sq
                .push((updated.clone() - previous).square().sum());
            // The state buffer holding v̂ this step, for the step-size spread.
            let second_moment = self.step.step().scalars.second_moment_buffer();
            let v_hat = state
                .buffers
                .iter()
                .find(|(name, _)| Some(*name) == second_moment)
                .map(|(_, v)| v.clone());
            if let Some(v) = v_hat {
                probes.v_min.push(v.clone().min());
                probes.v_max.push(v.clone().max());
                if self.samples.len() <= index {
                    self.samples.resize(index + 1, None);
                }
                let stride = self.sample_stride;
                let picks = self.samples[index].get_or_insert_with(|| {
                    let picks: Vec<i64> = (0..v.dims()[0] as i64).step_by(stride).collect();
                    let count = picks.len();
                    Tensor::<1, Int>::from_data(TensorData::new(picks, [count]), &v.device())
                });
                probes.v_sample.push(v.select(0, picks.clone()));
            }
        }
        self.states[index] = Some(state);
        Param::from_mapped_value(id, Tensor::from_inner(updated).require_grad(), mapper)
    }
}
