// Fused RAdam step, L2 or decoupled weight decay (torch.optim.RAdam).
// One T (an f32, or two or four as a vec2 or vec4) per invocation; reads param, grad and the moments once and writes param and the moments once.
// Per-step scalars: stepwise_optim::RAdamScalars, filled by RAdamConfig::scalars; with one shared
// block `rectified` is uniform across the dispatch, so the branch costs no divergence.

struct RAdamScalars {
    // 1 - lr * weight_decay when decoupled, else 1
    decay: f32,
    // weight_decay for L2, 0 when decoupled
    l2: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    bias_correction1: f32,
    lr: f32,
    bias_correction2_sqrt: f32,
    rectification: f32,
    rectified: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<T>;
@group(0) @binding(1) var<storage, read_write> grad: array<T>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<T>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<T>;

// Binding 4: the scalar block, declared by the host (`Kernel::source`): one uniform RAdamScalars shared by
// every index, or one per index (independent problems with their own hyperparameters); `scalars(i)` reads it.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = element_index(id, groups);
    if i >= arrayLength(&param) {
        return;
    }
    let s = scalars(i);
    let u = adam_moments(param[i], grad[i], exp_avg[i], exp_avg_sq[i], s.decay, s.l2,
                         s.one_minus_beta1, s.beta2, s.one_minus_beta2);
    let p = u.p;
    let m = u.m;
    let v = u.v;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    let momentum_step = m / s.bias_correction1 * s.lr;
    var update = momentum_step;
    if s.rectified != 0u {
        let adaptive = (1.0 / (sqrt(v) + s.eps)) * s.bias_correction2_sqrt;
        update = momentum_step * adaptive * s.rectification;
    }
    param[i] = p - update;
}
