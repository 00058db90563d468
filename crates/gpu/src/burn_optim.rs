//! Stepwise's optimizers as burn optimizers.
//!
//! - [`FusedOptimizer`] launches the fused kernels of `shaders/` in place on the buffers of
//!   burn-wgpu tensors (through burn's custom-kernel mechanism): a training step on the GPU never
//!   copies parameters or state through the CPU.
//! - [`ReferenceOptimizer`] applies `stepwise_optim`'s CPU reference to any backend's tensors (host
//!   round trip per tensor): the ground truth, and the optimizer of burn's CPU backend.
//!
//! Both are thin adapters over [`TensorStep`], the step as Stepwise's engine takes it: computed
//! once per step by `stepwise_optim::Optimizer::begin_step` and applied to every tensor. burn's
//! trait steps each tensor on its own, so the adapters count steps per tensor ([`CountedState`],
//! from 1 as PyTorch does) and take the learning rate burn passes (a burn scheduler or Stepwise's
//! `LrSchedule`); state buffers are named as `torch.optim`'s state dicts.

use burn::backend::wgpu::{
    CubeBackend, CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous,
};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::{KernelArguments, MetadataBindingInfo};
use burn::cubecl::{CubeCount, CubeDim};
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor, TensorData};
use stepwise_optim::{OptimizerConfig, Step};

use crate::kernels::{Kernel, Pipeline, Scalars, WORKGROUP_SIZE, Width, workgroups};
use crate::{Gpu, GpuError, kernel_for};

/// The largest scalar block of any kernel, in 64-bit words (`AdamScalars` and its siblings: 48
/// bytes).
const SCALAR_WORDS: usize = 6;

/// A kernel's scalar block: the bytes of the optimizer crate's struct as the 64-bit words of
/// burn's launch metadata, which burn binds as a uniform buffer after the launch's storage
/// buffers, exactly where the kernels declare their block ([`Scalars::Shared`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScalarBlock([u64; SCALAR_WORDS]);

impl ScalarBlock {
    fn new(bytes: &[u8]) -> Self {
        let mut words = [0_u64; SCALAR_WORDS];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut le = [0_u8; 8];
            le[..chunk.len()].copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
        Self(words)
    }
}

/// The fused step as a burn backend operation on wgpu tensors: the parameter, its gradient and up
/// to three state buffers (small placeholders where the optimizer keeps fewer), updated in place and
/// returned in the same order.
#[backend_extension(Cube, Fusion)]
pub trait FusedStepOps: Backend {
    /// One fused optimizer step.
    #[fusion(meta = |param, _grad, a, b, c, _kernel, _scalars| (param.clone(), a.clone(), b.clone(), c.clone()))]
    fn fused_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        state_a: FloatTensor<Self>,
        state_b: FloatTensor<Self>,
        state_c: FloatTensor<Self>,
        kernel: Kernel,
        scalars: ScalarBlock,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// A contiguous tensor whose buffer no other tensor shares, so that writing it in place is safe.
fn exclusive(tensor: CubeTensor) -> CubeTensor {
    let tensor = into_contiguous(tensor);
    if tensor.can_mut() {
        tensor
    } else {
        tensor.copy()
    }
}

impl FusedStepOps for CubeBackend {
    fn fused_step(
        param: CubeTensor,
        grad: CubeTensor,
        state_a: CubeTensor,
        state_b: CubeTensor,
        state_c: CubeTensor,
        kernel: Kernel,
        scalars: ScalarBlock,
    ) -> (CubeTensor, CubeTensor, CubeTensor, CubeTensor) {
        let param = exclusive(param);
        let grad = into_contiguous(grad);
        let states = [exclusive(state_a), exclusive(state_b), exclusive(state_c)];
        let client = param.client.clone();
        let state_bindings = (kernel.shader().storage_bindings - 2) as usize;
        let mut buffers = vec![
            param.handle.clone().binding(),
            grad.handle.clone().binding(),
        ];
        buffers.extend(
            states[..state_bindings]
                .iter()
                .map(|s| s.handle.clone().binding()),
        );
        // Whole vec4s where the length allows (burn's bindings are 256-byte aligned), else f32s.
        let len = param.meta.shape().num_elements();
        let width = if len.is_multiple_of(4) {
            Width::Vec4
        } else {
            Width::Scalar
        };
        let (x, y) = workgroups(len / width.lanes());
        client.launch(
            Box::new(SourceKernel::new(
                BurnKernel(kernel, width),
                CubeDim::new_1d(WORKGROUP_SIZE),
            )),
            CubeCount::Static(x, y, 1),
            KernelArguments::new()
                .with_buffers(buffers)
                .with_info(MetadataBindingInfo::custom(scalars.0.to_vec())),
        );
        let [a, b, c] = states;
        (param, a, b, c)
    }
}

/// A kernel of `shaders/` as burn launches it: the same text as on plain wgpu, its scalar block
/// filled from the launch's metadata.
#[derive(Debug)]
struct BurnKernel(Kernel, Width);

impl KernelSource for BurnKernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(self.0.shader().source(self.1, Scalars::Shared))
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.0, self.1))
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// The optimizer state of one parameter tensor: its buffers, flat, under `torch.optim`'s names.
/// The step count is not here: all of a model's tensors step together, so it is the
/// [`stepwise_optim::Optimizer`]'s (or, behind burn's per-tensor trait, [`CountedState`]'s).
#[derive(Clone, Debug)]
pub struct TensorState {
    /// The buffers, in the kernel's binding order.
    pub buffers: Vec<(&'static str, Tensor<1>)>,
    /// One-vector tensors the fused kernel binds where its variant has no buffer (AMSGrad's
    /// maximum, SGD's momentum): never written and not recorded, but kept, so that a step does not
    /// allocate and fill them again (a launch each, per tensor, per step).
    placeholders: Vec<Tensor<1>>,
}

/// Every buffer name a state can hold, in binding order.
const BUFFER_NAMES: [&str; 4] = ["momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

impl TensorState {
    /// A state with these buffers (in the kernel's binding order).
    pub const fn new(buffers: Vec<(&'static str, Tensor<1>)>) -> Self {
        Self {
            buffers,
            placeholders: Vec::new(),
        }
    }

    /// Zero state for a parameter of `len` elements on `device`.
    fn zeros(config: &OptimizerConfig, len: usize, device: &Device) -> Self {
        let buffers = config
            .init_state(0)
            .buffers()
            .into_iter()
            .map(|(name, _)| (name, Tensor::<1>::zeros([len], device)))
            .collect();
        Self::new(buffers)
    }
}

/// One optimizer step, computed once on the host ([`stepwise_optim::Optimizer::begin_step`]) and
/// applied to each tensor of a model: the step, and its scalars as the block the fused kernels
/// read, so that no tensor recomputes them.
#[derive(Clone, Copy, Debug)]
pub struct TensorStep {
    config: OptimizerConfig,
    step: Step,
    block: ScalarBlock,
}

impl TensorStep {
    /// `step` of an optimizer configured by `config`.
    pub fn new(config: &OptimizerConfig, step: Step) -> Self {
        Self {
            config: *config,
            step,
            block: ScalarBlock::new(step.scalars.as_bytes()),
        }
    }

    /// The step.
    pub const fn step(&self) -> &Step {
        &self.step
    }

    /// The fused kernel, in place on a burn-wgpu tensor's buffers: the updated tensor and state
    /// (`None` before the first step: zeros).
    pub fn fused<const D: usize>(
        &self,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<TensorState>,
    ) -> (Tensor<D>, TensorState) {
        let device = tensor.device();
        let len = tensor.shape().num_elements();
        let mut state = state.unwrap_or_else(|| TensorState::zeros(&self.config, len, &device));
        let names: Vec<&'static str> = state.buffers.iter().map(|(name, _)| *name).collect();
        let mut buffers = std::mem::take(&mut state.buffers)
            .into_iter()
            .map(|(_, tensor)| tensor);
        let mut placeholders = std::mem::take(&mut state.placeholders).into_iter();
        let mut next = || {
            buffers
                .next()
                .or_else(|| placeholders.next())
                // A placeholder of one vector (a vec4 binding needs 16 bytes), made once.
                .unwrap_or_else(|| Tensor::<1>::zeros([4], &device))
                .into_dispatch()
        };
        let (a, b, c) = (next(), next(), next());
        let (param, a, b, c) = Dispatch::fused_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            a,
            b,
            c,
            kernel_for(&self.config),
            self.block,
        );
        let mut outputs = [a, b, c].into_iter().map(Tensor::<1>::from_dispatch);
        state.buffers = names.into_iter().zip(outputs.by_ref()).collect();
        state.placeholders = outputs.collect();
        (Tensor::from_dispatch(param), state)
    }

    /// The CPU reference ([`Step::apply`]) on any backend's tensor: parameter, gradient and state
    /// are read to the host, updated and written back.
    pub fn reference<const D: usize>(
        &self,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<TensorState>,
    ) -> (Tensor<D>, TensorState) {
        let device = tensor.device();
        let shape = tensor.shape();
        let len = shape.num_elements();
        let mut param = host(tensor.reshape([len]));
        let grad = host(grad.reshape([len]));
        let mut host_state = match state {
            Some(state) => self
                .config
                .init_state(0)
                .with_buffers(state.buffers.into_iter().map(|(_, t)| host(t))),
            None => self.config.init_state(len),
        };
        #[allow(clippy::expect_used)] // the state was made for this tensor by this optimizer
        self.step
            .apply(&mut param, &grad, &mut host_state)
            .expect("state of this optimizer, with the parameter's length");
        let buffers = host_state
            .buffers()
            .into_iter()
            .map(|(name, values)| {
                let data = TensorData::new(values.to_vec(), [len]);
                (name, Tensor::<1>::from_data(data, &device))
            })
            .collect();
        let param = Tensor::<1>::from_data(TensorData::new(param, [len]), &device).reshape(shape);
        (param, TensorState::new(buffers))
    }
}

/// A [`TensorState`] with its own step count: what burn's `Optimizer` trait, which steps each
/// tensor on its own, keeps per parameter (as burn's optimizers keep their `time`).
#[derive(Clone, Debug)]
pub struct CountedState {
    /// Steps taken (the next one is `t + 1`).
    pub t: u64,
    /// The buffers.
    pub state: TensorState,
}

impl CountedState {
    /// The next step of a tensor whose state is `state` (`None` before its first step), taken by
    /// `apply` (the fused kernel or the reference).
    fn advance<const D: usize>(
        config: &OptimizerConfig,
        lr: LearningRate,
        state: Option<Self>,
        apply: impl FnOnce(&TensorStep, Option<TensorState>) -> (Tensor<D>, TensorState),
    ) -> (Tensor<D>, Option<Self>) {
        let t = state.as_ref().map_or(0, |s| s.t) + 1;
        let step = TensorStep::new(config, Step::new(config, t, lr));
        let (tensor, state) = apply(&step, state.map(|s| s.state));
        (tensor, Some(Self { t, state }))
    }
}

impl RecordState for CountedState {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        // Counts stay far below 2^53, exact in f64.
        out.push_tensor(prefix, "step", TensorData::new(vec![self.t as f64], [1]));
        for (name, tensor) in &self.state.buffers {
            out.push_tensor(prefix, name, tensor.to_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let step = src.take_tensor(prefix, "step")?.try_to_vec::<f64>().ok()?;
        let t = *step.first()? as u64;
        let buffers = BUFFER_NAMES
            .into_iter()
            .filter_map(|name| {
                let data = src.take_tensor(prefix, name)?;
                Some((name, Tensor::<1>::from_data(data, device)))
            })
            .collect();
        Some(Self {
            t,
            state: TensorState::new(buffers),
        })
    }
}

/// Stepwise's fused kernels as a burn optimizer, for parameters on a wgpu device.
///
/// ```text
/// let mut optim: burn::optim::ModuleOptimizer = FusedOptimizer::new(config).into();
/// model = optim.step(lr, model, GradientsParams::from_grads(loss.backward(), &model));
/// ```
#[derive(Clone, Debug)]
pub struct FusedOptimizer {
    config: OptimizerConfig,
}

impl FusedOptimizer {
    /// The optimizer for `config` (already validated: [`OptimizerConfig`] can only be built
    /// valid from specs, and `Optimizer::new` checks hand-made ones).
    pub const fn new(config: OptimizerConfig) -> Self {
        Self { config }
    }

    /// Compiles this optimizer's kernel, at both widths burn launches it with, on `gpu`'s device:
    /// a shader or pipeline error then names the shader before training starts, instead of
    /// reaching the caller as burn's error about a kernel called `main` at the next read. Burn
    /// compiles the same text on the same driver; call this with the adapter burn uses.
    ///
    /// # Errors
    /// [`GpuError::Shader`] naming the file.
    pub async fn check(&self, gpu: &Gpu) -> Result<(), GpuError> {
        for width in [Width::Vec4, Width::Scalar] {
            Pipeline::new(
                gpu,
                kernel_for(&self.config).shader(),
                width,
                Scalars::Shared,
            )
            .await?;
        }
        Ok(())
    }
}

impl Optimizer for FusedOptimizer {
    type State<const D: usize> = CountedState;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<CountedState>,
    ) -> (Tensor<D>, Option<CountedState>) {
        CountedState::advance(&self.config, lr, state, |step, state| {
            step.fused(tensor, grad, state)
        })
    }

    fn to_device<const D: usize>(mut state: CountedState, device: &Device) -> CountedState {
        state.state.buffers = state
            .state
            .buffers
            .into_iter()
            .map(|(name, tensor)| (name, tensor.to_device(device)))
            .collect();
        state.state.placeholders.clear();
        state
    }
}

/// `stepwise_optim`'s CPU reference as a burn optimizer, for any backend: each step reads the
/// parameter, gradient and state to the host, applies [`Step::apply`] and writes them back.
#[derive(Clone, Debug)]
pub struct ReferenceOptimizer {
    config: OptimizerConfig,
}

impl ReferenceOptimizer {
    /// The reference optimizer for `config`.
    pub const fn new(config: OptimizerConfig) -> Self {
        Self { config }
    }
}

/// A tensor's values on the host.
fn host(tensor: Tensor<1>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

impl Optimizer for ReferenceOptimizer {
    type State<const D: usize> = CountedState;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<CountedState>,
    ) -> (Tensor<D>, Option<CountedState>) {
        CountedState::advance(&self.config, lr, state, |step, state| {
            step.reference(tensor, grad, state)
        })
    }

    fn to_device<const D: usize>(state: CountedState, device: &Device) -> CountedState {
        FusedOptimizer::to_device::<D>(state, device)
    }
}
