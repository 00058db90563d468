//! Two-dimensional test functions with analytic gradients, for watching optimizers move.
//!
//! Everything is `f32`, as the parameters are. Values are evaluated in the order PyTorch evaluates
//! the same expressions, and gradients are rounded as autograd rounds them, so trajectories match
//! `torch.optim` runs with autograd gradients bit for bit wherever the optimizer step does.

use std::f32::consts::TAU;

use serde::{Deserialize, Serialize};

/// A 2-D loss surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TestFunction {
    /// `(1−x)² + 100(y−x²)²`: a curved, narrow valley; minimum 0 at (1, 1).
    Rosenbrock,
    /// `(1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²`: flat plateaus, sharp ridges; minimum 0 at
    /// (3, 0.5).
    Beale,
    /// `20 + x² − 10cos(2πx) + y² − 10cos(2πy)`: a grid of local minima; global minimum 0 at 0.
    Rastrigin,
    /// `x² − y²`: a saddle point at the origin, unbounded below along y.
    Saddle,
    /// `0.5(x² + 50y²)`: an ill-conditioned bowl (condition number 50); minimum 0 at 0.
    Quadratic,
}

impl TestFunction {
    /// Every function.
    pub const ALL: [Self; 5] = [
        Self::Rosenbrock,
        Self::Beale,
        Self::Rastrigin,
        Self::Saddle,
        Self::Quadratic,
    ];

    /// The lowercase name used in flags and output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rosenbrock => "rosenbrock",
            Self::Beale => "beale",
            Self::Rastrigin => "rastrigin",
            Self::Saddle => "saddle",
            Self::Quadratic => "quadratic",
        }
    }

    /// The region worth looking at, as ((x min, x max), (y min, y max)): the minimum and the
    /// features around it (Rosenbrock's valley, Beale's ridges, a few of Rastrigin's minima).
    pub const fn region(self) -> ((f32, f32), (f32, f32)) {
        match self {
            Self::Rosenbrock => ((-2.0, 2.0), (-1.0, 3.0)),
            Self::Beale => ((-4.5, 4.5), (-4.5, 4.5)),
            Self::Rastrigin => ((-5.12, 5.12), (-5.12, 5.12)),
            Self::Saddle => ((-2.0, 2.0), (-2.0, 2.0)),
            Self::Quadratic => ((-2.0, 2.0), (-1.0, 1.0)),
        }
    }

    /// A start point that shows the function's difficulty: the far end of Rosenbrock's valley,
    /// a plateau of Beale's, among Rastrigin's local minima, just off the saddle's ridge, and the
    /// steep side of the quadratic.
    pub const fn classic_start(self) -> [f32; 2] {
        match self {
            Self::Rosenbrock => [-1.5, 2.0],
            Self::Beale => [-1.0, 1.5],
            Self::Rastrigin => [3.3, -2.6],
            Self::Saddle => [1.5, 0.01],
            Self::Quadratic => [-1.8, 0.8],
        }
    }

    /// The global minimum, where there is one.
    pub const fn minimum(self) -> Option<[f32; 2]> {
        match self {
            Self::Rosenbrock => Some([1.0, 1.0]),
            Self::Beale => Some([3.0, 0.5]),
            Self::Rastrigin | Self::Quadratic => Some([0.0, 0.0]),
            Self::Saddle => None,
        }
    }

    /// The function's value at (x, y).
    pub fn value(self, x: f32, y: f32) -> f32 {
        match self {
            Self::Rosenbrock => (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2),
            Self::Beale => {
                let [a, b, c] = beale_terms(x, y);
                a * a + b * b + c * c
            }
            Self::Rastrigin => {
                20.0 + x * x - 10.0 * (TAU * x).cos() + y * y - 10.0 * (TAU * y).cos()
            }
            Self::Saddle => x * x - y * y,
            Self::Quadratic => 0.5 * (x * x + 50.0 * (y * y)),
        }
    }

    /// The gradient (∂f/∂x, ∂f/∂y) at (x, y).
    pub fn gradient(self, x: f32, y: f32) -> [f32; 2] {
        match self {
            // Rounded as autograd computes them, so trajectories match PyTorch's bit for bit
            // where its optimizer does: products of the incoming gradient with each local
            // derivative, summed in the order the autograd engine delivers them.
            Self::Rosenbrock => {
                let valley_grad = 200.0 * (y - x * x);
                [-2.0 * (1.0 - x) - valley_grad * (2.0 * x), valley_grad]
            }
            Self::Beale => {
                let [a, b, c] = beale_terms(x, y);
                let (ga, gb, gc) = (2.0 * a, 2.0 * b, 2.0 * c);
                let (y2, y3) = (y * y, y * y * y);
                [
                    gc * y3 - gc + gb * y2 - gb + ga * y - ga,
                    gc * x * (3.0 * y2) + gb * x * (2.0 * y) + ga * x,
                ]
            }
            Self::Rastrigin => [
                2.0 * x + 10.0 * (TAU * x).sin() * TAU,
                2.0 * y + 10.0 * (TAU * y).sin() * TAU,
            ],
            Self::Saddle => [2.0 * x, -2.0 * y],
            Self::Quadratic => [x, 50.0 * y],
        }
    }
}

/// The three residuals whose squares make up Beale's function.
fn beale_terms(x: f32, y: f32) -> [f32; 3] {
    [
        1.5 - x + x * y,
        2.25 - x + x * (y * y),
        2.625 - x + x * (y * y * y),
    ]
}

impl std::fmt::Display for TestFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences in f64 agree with the analytic gradients.
    #[test]
    fn gradients_match_finite_differences() {
        let points = [
            (-1.2, 1.0),
            (0.3, -0.7),
            (2.1, 0.4),
            (-0.45, 1.35),
            (1.0, 1.0),
        ];
        for function in TestFunction::ALL {
            for &(x, y) in &points {
                let h = 1e-3_f32;
                let [gx, gy] = function.gradient(x, y);
                let dx = (function.value(x + h, y) - function.value(x - h, y)) / (2.0 * h);
                let dy = (function.value(x, y + h) - function.value(x, y - h)) / (2.0 * h);
                for (analytic, numeric, axis) in [(gx, dx, "x"), (gy, dy, "y")] {
                    let scale = analytic.abs().max(numeric.abs()).max(1.0);
                    assert!(
                        (analytic - numeric).abs() / scale < 2e-2,
                        "{function} d/d{axis} at ({x}, {y}): analytic {analytic}, numeric {numeric}"
                    );
                }
            }
        }
    }

    #[test]
    fn minima_are_zero() {
        assert_eq!(TestFunction::Rosenbrock.value(1.0, 1.0), 0.0);
        assert_eq!(TestFunction::Beale.value(3.0, 0.5), 0.0);
        assert_eq!(TestFunction::Rastrigin.value(0.0, 0.0), 0.0);
        assert_eq!(TestFunction::Quadratic.value(0.0, 0.0), 0.0);
        assert_eq!(TestFunction::Saddle.gradient(0.0, 0.0), [0.0, 0.0]);
    }

    #[test]
    fn minima_and_classic_starts_lie_in_the_region_shown() {
        for function in TestFunction::ALL {
            let ((x0, x1), (y0, y1)) = function.region();
            let inside = |[x, y]: [f32; 2]| (x0..=x1).contains(&x) && (y0..=y1).contains(&y);
            assert!(inside(function.classic_start()), "{function}");
            if let Some(minimum) = function.minimum() {
                assert!(inside(minimum), "{function}");
                assert_eq!(function.value(minimum[0], minimum[1]), 0.0, "{function}");
            }
        }
    }
}
