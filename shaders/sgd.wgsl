// Fused SGD step: momentum, dampening, Nesterov, L2 weight decay (torch.optim.SGD).
// One T (an f32, or two or four as a vec2 or vec4) per invocation; reads param, grad and the momentum buffer once and writes param and buffer once.
// Per-step scalars: stepwise_optim::SgdScalars, filled by SgdConfig::scalars.

struct SgdScalars {
    lr: f32,
    weight_decay: f32,
    // momentum, or 0 on the first step so that the buffer becomes the gradient
    buffer_decay: f32,
    // 1 - dampening, or 1 on the first step
    buffer_grad_scale: f32,
    momentum: f32,
    has_momentum: u32,
    nesterov: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<T>;
@group(0) @binding(1) var<storage, read_write> grad: array<T>;
// Unused (a one-vector placeholder) when has_momentum is 0.
@group(0) @binding(2) var<storage, read_write> momentum_buffer: array<T>;

// Binding 3: the scalar block, declared by the host (`Kernel::source`): one uniform SgdScalars shared by
// every index, or one per index (independent problems with their own hyperparameters); `scalars(i)` reads it.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = element_index(id, groups);
    if i >= arrayLength(&param) {
        return;
    }
    let s = scalars(i);
    let g = fma(T(s.weight_decay), param[i], grad[i]);
    var d = g;
    if s.has_momentum != 0u {
        let b = fma(T(s.buffer_grad_scale), g, momentum_buffer[i] * s.buffer_decay);
        momentum_buffer[i] = b;
        d = select(b, fma(T(s.momentum), b, g), s.nesterov != 0u);
    }
    param[i] = fma(T(-s.lr), d, param[i]);
}
