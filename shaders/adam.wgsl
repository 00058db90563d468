// Fused Adam / AdamW step with optional AMSGrad (torch.optim.Adam, torch.optim.AdamW).
// One T (an f32, or two or four as a vec2 or vec4) per invocation; reads param, grad and the moments once and writes param and the moments once.
// Per-step scalars: stepwise_optim::AdamScalars, filled by AdamConfig::scalars.

struct AdamScalars {
    // 1 - lr * weight_decay for AdamW, 1 for Adam
    decay: f32,
    // weight_decay for Adam (L2), 0 for AdamW
    l2: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bias_correction2_sqrt: f32,
    eps: f32,
    // lr / (1 - beta1^t)
    step_size: f32,
    amsgrad: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<T>;
@group(0) @binding(1) var<storage, read_write> grad: array<T>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<T>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<T>;
// Unused (a one-vector placeholder) unless amsgrad is 1.
@group(0) @binding(4) var<storage, read_write> max_exp_avg_sq: array<T>;

// Binding 5: the scalar block, declared by the host (`Kernel::source`): one uniform AdamScalars shared by
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
    var v_hat = v;
    if s.amsgrad != 0u {
        v_hat = nan_max(max_exp_avg_sq[i], v);
        max_exp_avg_sq[i] = v_hat;
    }
    let denom = sqrt(v_hat) / s.bias_correction2_sqrt + s.eps;
    param[i] = p - s.step_size * m / denom;
}
