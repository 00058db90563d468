// Helpers shared by every kernel; the host prepends this file to each kernel's source, after one
// line that sets the element type the optimizer kernels work on:
//     alias T = f32;          one element per invocation, or
//     alias T = vec4<f32>;    four consecutive elements per invocation (16-byte loads and stores),
// so that one kernel text serves both widths: every operation below and in the optimizer kernels
// is component-wise, and scalars from the uniform block broadcast (`T(x)` splats for vec4).

// Workgroup size of every element-wise kernel.
const WORKGROUP_SIZE: u32 = 256u;

// The index (in units of T) this invocation updates. Dispatches wider than the 65,535-workgroup limit of one
// dimension are folded into rows of `num_workgroups.x` workgroups.
fn element_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * WORKGROUP_SIZE;
}

// torch.maximum: the larger value, NaN if either is NaN.
fn nan_max(a: T, b: T) -> T {
    return select(select(a + b, b, a <= b), a, a > b);
}

// torch.clamp: NaN stays NaN.
fn nan_clamp(x: T, lower: f32, upper: f32) -> T {
    return select(select(x, T(upper), x > T(upper)), T(lower), x < T(lower));
}

// The Adam family's second moment, torch's mul + addcmul: β2·v + (1 − β2)·g², one fused
// multiply-add (Adam, RAdam, AdaBound).
fn second_moment(v: T, g: T, beta2: f32, one_minus_beta2: f32) -> T {
    return fma(one_minus_beta2 * g, g, v * beta2);
}

// Adam's and RAdam's first moment, torch's lerp: m + (1 − β1)·(g − m), one fused multiply-add.
fn lerp_moment(m: T, g: T, one_minus_beta1: f32) -> T {
    return fma(T(one_minus_beta1), g - m, m);
}

// One element after the Adam family's decay and moment updates (Adam, AdamW, RAdam; the host's
// `AdamMoments::update`): the decayed parameter and both new moments.
struct Moments {
    p: T,
    m: T,
    v: T,
}

// Decoupled decay of p, L2 decay into g, then both moments, from the scalar block's leading five
// members.
fn adam_moments(p: T, g: T, m: T, v: T, decay: f32, l2: f32, one_minus_beta1: f32, beta2: f32,
                one_minus_beta2: f32) -> Moments {
    let decayed = p * decay;
    let g_l2 = fma(T(l2), decayed, g);
    return Moments(decayed, lerp_moment(m, g_l2, one_minus_beta1),
                   second_moment(v, g_l2, beta2, one_minus_beta2));
}
