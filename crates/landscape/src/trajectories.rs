//! Many independent 2-D optimization problems in one dispatch per step: one trajectory per start
//! point or per hyperparameter setting, for `stepwise trace --device gpu`, basin maps,
//! hyperparameter maps and the teaching view.
//!
//! The start points form one flat parameter vector (x0, y0, x1, y1, …). Each step is two
//! dispatches in one compute pass: `functions.wgsl` writes every point's gradient (and records
//! its position and loss), then the optimizer's fused kernel updates the whole vector, which is
//! exactly the element-wise update of every problem at once. With one optimizer the kernel reads
//! one scalar block; with one optimizer per start it reads each problem's own block.

use bytemuck::{Pod, Zeroable};
use stepwise_optim::{Optimizer, ParamState, Step, TestFunction, TracePoint};

use stepwise_gpu::{
    FusedStepper, Gpu, GpuError, Pipeline, ScalarSlots, Scalars, Shader, Width, workgroups,
};

/// Steps encoded into one submission.
const STEPS_PER_SUBMISSION: u32 = 512;

/// With one optimizer per start, scalar blocks written per submission at most (steps × starts):
/// 256 Ki blocks of at most 48 bytes, 12 MiB of host-computed scalars.
const PER_START_BLOCKS_PER_SUBMISSION: usize = 1 << 18;

/// `functions.wgsl`: the value and gradient of a test function at every point (whatever the
/// width, it works on single coordinates), the point and its loss recorded in a history row.
pub const FUNCTIONS: Shader = Shader {
    file: "functions.wgsl",
    body: include_str!("../../../shaders/functions.wgsl"),
    scalar_struct: "Evaluation",
    storage_bindings: 3,
};

/// The scalar block of `functions.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
struct Evaluation {
    function: u32,
    count: u32,
    row: u32,
    _pad: u32,
}

/// The index `functions.wgsl` switches on.
const fn function_index(function: TestFunction) -> u32 {
    match function {
        TestFunction::Rosenbrock => 0,
        TestFunction::Beale => 1,
        TestFunction::Rastrigin => 2,
        TestFunction::Saddle => 3,
        TestFunction::Quadratic => 4,
    }
}

/// Which positions a run keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Every step, start included: `steps + 1` rows.
    EveryStep,
    /// Only the final position of each problem: one row.
    FinalOnly,
}

/// The positions and losses of many trajectories: `rows` rows of one [`TracePoint`] per start.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectories {
    starts: usize,
    /// The step number of each row.
    row_steps: Vec<u64>,
    /// Rows of (x, y, loss) triples.
    data: Vec<f32>,
}

impl Trajectories {
    /// Number of trajectories.
    pub const fn starts(&self) -> usize {
        self.starts
    }

    /// Number of recorded rows.
    pub fn rows(&self) -> usize {
        self.row_steps.len()
    }

    /// Trajectory `start` at recorded row `row`.
    ///
    /// # Panics
    /// When `row` or `start` is out of range.
    pub fn point(&self, row: usize, start: usize) -> TracePoint {
        assert!(start < self.starts, "start {start} of {}", self.starts);
        let i = 3 * (row * self.starts + start);
        TracePoint {
            step: self.row_steps[row],
            x: self.data[i],
            y: self.data[i + 1],
            loss: self.data[i + 2],
        }
    }

    /// One whole trajectory, row by row.
    pub fn trajectory(&self, start: usize) -> Vec<TracePoint> {
        (0..self.rows()).map(|row| self.point(row, start)).collect()
    }

    /// The last recorded point of every trajectory.
    pub fn finals(&self) -> Vec<TracePoint> {
        let last = self.rows() - 1;
        (0..self.starts)
            .map(|start| self.point(last, start))
            .collect()
    }
}

/// The optimizers of many 2-D problems stepped together.
#[derive(Clone, Copy, Debug)]
pub enum Optimizers<'a> {
    /// One optimizer (hyperparameters, schedule, step count) for every start point.
    Shared(&'a Optimizer),
    /// One optimizer per start point, all of one kind and state (for example a grid of learning
    /// rates and betas): a hyperparameter map in one dispatch per step.
    PerStart(&'a [Optimizer]),
}

/// Runs the optimizers (each from its current step) for `steps` steps on `function` from every
/// start point at once, on the GPU.
///
/// # Errors
/// [`GpuError::TooLarge`] when the points or the recorded history exceed the device's buffer
/// limit; [`GpuError::MixedOptimizers`] or [`GpuError::State`] when per-start optimizers differ in
/// kind or number from the starts; shader and readback errors.
pub async fn trajectories(
    gpu: &Gpu,
    function: TestFunction,
    optimizers: Optimizers<'_>,
    starts: &[[f32; 2]],
    steps: u64,
    record: Record,
) -> Result<Trajectories, GpuError> {
    let count = starts.len();
    let rows = match record {
        Record::EveryStep => steps + 1,
        Record::FinalOnly => 1,
    };
    let history_floats = rows.saturating_mul(3 * count as u64);
    gpu.check_size(
        "the recorded trajectories",
        history_floats.saturating_mul(4),
    )?;
    let count_u32 = u32::try_from(count).map_err(|_| GpuError::TooLarge {
        what: "the number of start points",
        bytes: count as u64,
        limit: u64::from(u32::MAX),
    })?;

    let points: Vec<f32> = starts.iter().flatten().copied().collect();
    let slots = u32::try_from(steps.clamp(1, u64::from(STEPS_PER_SUBMISSION))).unwrap_or(1);
    let (mut optimizers, stepper) = match optimizers {
        Optimizers::Shared(optimizer) => {
            let state = optimizer.init_state(points.len());
            let stepper =
                FusedStepper::new(gpu, optimizer.config(), &points, &state, slots).await?;
            (vec![optimizer.clone()], stepper)
        }
        Optimizers::PerStart(optimizers) => {
            let configs: Vec<_> = optimizers.iter().map(|o| *o.config()).collect();
            let state = configs
                .first()
                .map_or(ParamState::Stateless, |c| c.init_state(points.len()));
            // Each slot holds every problem's block: fewer steps fit in one submission.
            let slots = slots.min(PER_START_BLOCKS_PER_SUBMISSION.div_ceil(count.max(1)) as u32);
            let stepper = FusedStepper::per_problem(gpu, &configs, &points, &state, slots).await?;
            (optimizers.to_vec(), stepper)
        }
    };
    let slots = stepper.slots();
    let evaluate = Pipeline::new(gpu, FUNCTIONS, Width::Scalar, Scalars::Shared).await?;
    let evaluation_size = std::mem::size_of::<Evaluation>() as u64;
    let evaluations = ScalarSlots::new(
        gpu,
        FUNCTIONS.file,
        Scalars::Shared,
        slots,
        1,
        evaluation_size,
    )?;
    let history = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("trajectory history"),
        size: history_floats.max(1) * 4,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(FUNCTIONS.file),
        layout: &evaluate.layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: stepper.param_buffer().as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: stepper.grad_buffer().as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: history.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: evaluations.binding(),
            },
        ],
    });
    let evaluation = |step: u64| Evaluation {
        function: function_index(function),
        count: count_u32,
        // Rows are bounded by the history size checked above.
        row: match record {
            Record::EveryStep => step as u32,
            Record::FinalOnly => 0,
        },
        _pad: 0,
    };
    let (x, y) = workgroups(count);
    let encode_evaluation = |pass: &mut wgpu::ComputePass<'_>, slot: u32| {
        pass.set_pipeline(&evaluate.pipeline);
        pass.set_bind_group(0, &bind_group, &[evaluations.offset(slot)]);
        pass.dispatch_workgroups(x, y, 1);
    };

    let mut done = 0;
    while done < steps {
        let batch = (steps - done).min(u64::from(slots));
        // Slot-major: every problem's step, one slot after another.
        let batch_steps: Vec<Step> = (0..batch)
            .flat_map(|_| {
                optimizers
                    .iter_mut()
                    .map(Optimizer::begin_step)
                    .collect::<Vec<_>>()
            })
            .collect();
        stepper.write_steps(gpu, &batch_steps);
        let blocks: Vec<Evaluation> = (done..done + batch).map(evaluation).collect();
        evaluations.write(gpu, blocks.iter().map(bytemuck::bytes_of));
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("trajectories"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            for slot in 0..batch as u32 {
                encode_evaluation(&mut pass, slot);
                stepper.encode(&mut pass, slot);
            }
        }
        gpu.queue.submit([encoder.finish()]);
        done += batch;
    }
    // The loss (and position) after the last step.
    evaluations.write(gpu, [bytemuck::bytes_of(&evaluation(steps))]);
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("final evaluation"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        encode_evaluation(&mut pass, 0);
    }
    gpu.queue.submit([encoder.finish()]);

    let mut data = gpu.read_f32("trajectories", &history).await?;
    data.truncate(history_floats as usize);
    let row_steps = match record {
        Record::EveryStep => (0..=steps).collect(),
        Record::FinalOnly => vec![steps],
    };
    Ok(Trajectories {
        starts: count,
        row_steps,
        data,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

    use super::*;

    /// `functions.wgsl` validates with naga, and its scalar block, bound after its storage
    /// buffers, has the size of [`Evaluation`].
    #[test]
    fn functions_shader_validates_and_its_block_is_the_host_struct() {
        let source = FUNCTIONS.source(Width::Scalar, Scalars::Shared);
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|err| panic!("{}", err.emit_to_string(&source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|err| panic!("{}", err.emit_to_string(&source)));
        let block = module
            .global_variables
            .iter()
            .find(|(_, var)| var.space == naga::AddressSpace::Uniform)
            .map(|(_, var)| var)
            .expect("a uniform scalar block");
        assert_eq!(
            block.binding.as_ref().map(|b| b.binding),
            Some(FUNCTIONS.storage_bindings)
        );
        let naga::TypeInner::Struct { span, .. } = module.types[block.ty].inner else {
            panic!("the scalar block is a struct");
        };
        assert_eq!(span as usize, size_of::<Evaluation>());
    }
}
