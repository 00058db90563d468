// Values and gradients of the 2-D test functions (stepwise_optim::TestFunction) at many independent
// points at once: the first half of every step of `stepwise basin` and `stepwise trace --device gpu`,
// the second half being an optimizer kernel over the flat (x0, y0, x1, y1, ...) parameter vector.
// Expressions are written in the same order as the CPU's, which rounds them as autograd does.

struct Evaluation {
    // 0 rosenbrock, 1 beale, 2 rastrigin, 3 saddle, 4 quadratic
    function: u32,
    // number of points
    count: u32,
    // row of `history` that receives (x, y, loss) of every point
    row: u32,
    _pad: u32,
}

// x0, y0, x1, y1, ...
@group(0) @binding(0) var<storage, read_write> points: array<f32>;
@group(0) @binding(1) var<storage, read_write> grads: array<f32>;
// rows of `count` triples (x, y, loss)
@group(0) @binding(2) var<storage, read_write> history: array<f32>;
// Binding 3: the Evaluation block, declared by the host (`Kernel::source`), one for every point.

const TAU: f32 = 6.2831855;

fn value(function: u32, x: f32, y: f32) -> f32 {
    switch function {
        case 0u: {
            let a = 1.0 - x;
            let b = y - x * x;
            return a * a + 100.0 * (b * b);
        }
        case 1u: {
            let a = 1.5 - x + x * y;
            let b = 2.25 - x + x * (y * y);
            let c = 2.625 - x + x * (y * y * y);
            return a * a + b * b + c * c;
        }
        case 2u: {
            return 20.0 + x * x - 10.0 * cos(TAU * x) + y * y - 10.0 * cos(TAU * y);
        }
        case 3u: {
            return x * x - y * y;
        }
        default: {
            return 0.5 * (x * x + 50.0 * (y * y));
        }
    }
}

fn gradient(function: u32, x: f32, y: f32) -> vec2<f32> {
    switch function {
        case 0u: {
            let valley_grad = 200.0 * (y - x * x);
            return vec2<f32>(-2.0 * (1.0 - x) - valley_grad * (2.0 * x), valley_grad);
        }
        case 1u: {
            let ga = 2.0 * (1.5 - x + x * y);
            let gb = 2.0 * (2.25 - x + x * (y * y));
            let gc = 2.0 * (2.625 - x + x * (y * y * y));
            let y2 = y * y;
            let y3 = y * y * y;
            return vec2<f32>(
                gc * y3 - gc + gb * y2 - gb + ga * y - ga,
                gc * x * (3.0 * y2) + gb * x * (2.0 * y) + ga * x,
            );
        }
        case 2u: {
            return vec2<f32>(
                2.0 * x + 10.0 * sin(TAU * x) * TAU,
                2.0 * y + 10.0 * sin(TAU * y) * TAU,
            );
        }
        case 3u: {
            return vec2<f32>(2.0 * x, -2.0 * y);
        }
        default: {
            return vec2<f32>(x, 50.0 * y);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let k = element_index(id, groups);
    let e = scalars(0u);
    if k >= e.count {
        return;
    }
    let x = points[2u * k];
    let y = points[2u * k + 1u];
    let g = gradient(e.function, x, y);
    grads[2u * k] = g.x;
    grads[2u * k + 1u] = g.y;
    let row = 3u * (e.row * e.count + k);
    history[row] = x;
    history[row + 1u] = y;
    history[row + 2u] = value(e.function, x, y);
}
