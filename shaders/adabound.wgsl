// Fused AdaBound / AdaBoundW step with optional AMSBound (Luolc's reference implementation).
// One T (an f32, or two or four as a vec2 or vec4) per invocation; reads param, grad and the moments once and writes param and the moments once.
// Per-step scalars: stepwise_optim::AdaBoundScalars, filled by AdaBoundConfig::scalars.

struct AdaBoundScalars {
    // weight_decay for AdaBound (L2), 0 for AdaBoundW
    l2: f32,
    // weight_decay for AdaBoundW (p -= wd * p_old), 0 for AdaBound
    decoupled_decay: f32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    // lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    step_size: f32,
    lower_bound: f32,
    upper_bound: f32,
    amsbound: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<T>;
@group(0) @binding(1) var<storage, read_write> grad: array<T>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<T>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<T>;
// Unused (a one-vector placeholder) unless amsbound is 1.
@group(0) @binding(4) var<storage, read_write> max_exp_avg_sq: array<T>;

// Binding 5: the scalar block, declared by the host (`Kernel::source`): one uniform AdaBoundScalars shared by
// every index, or one per index (independent problems with their own hyperparameters); `scalars(i)` reads it.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = element_index(id, groups);
    if i >= arrayLength(&param) {
        return;
    }
    let s = scalars(i);
    let p = param[i];
    let g = fma(T(s.l2), p, grad[i]);
    let m = fma(T(s.one_minus_beta1), g, exp_avg[i] * s.beta1);
    let v = second_moment(exp_avg_sq[i], g, s.beta2, s.one_minus_beta2);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    var v_hat = v;
    if s.amsbound != 0u {
        v_hat = nan_max(max_exp_avg_sq[i], v);
        max_exp_avg_sq[i] = v_hat;
    }
    let rate = nan_clamp(s.step_size / (sqrt(v_hat) + s.eps), s.lower_bound, s.upper_bound);
    param[i] = (p - rate * m) - s.decoupled_decay * p;
}
