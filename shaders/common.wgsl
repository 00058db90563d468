// Helpers shared by every optimizer kernel; the host prepends this file to each kernel's source.

// Workgroup size of every element-wise kernel.
const WORKGROUP_SIZE: u32 = 256u;

// The element this invocation updates. Dispatches wider than the 65,535-workgroup limit of one
// dimension are folded into rows of `num_workgroups.x` workgroups.
fn element_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * WORKGROUP_SIZE;
}

// torch.maximum: the larger value, NaN if either is NaN.
fn nan_max(a: f32, b: f32) -> f32 {
    if a > b {
        return a;
    }
    if a <= b {
        return b;
    }
    return a + b;
}

// torch.clamp: NaN stays NaN.
fn nan_clamp(x: f32, lower: f32, upper: f32) -> f32 {
    if x < lower {
        return lower;
    }
    if x > upper {
        return upper;
    }
    return x;
}
