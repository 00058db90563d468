//! Guided scenarios: a setting of the teaching view and what to look for in it.

use serde::{Deserialize, Serialize};
use stepwise_optim::{OptimizerKind, OptimizerSpec, TestFunction};

use super::{Racer, TeachingView};

/// A guided scenario: a setting of the view and what to look for in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// Adam at a high learning rate against RAdam.
    AdamOvershoot,
    /// AdaBound's bounds closing in on SGD.
    AdaBoundToSgd,
    /// L2 decay inside Adam against AdamW's decoupled decay.
    DecoupledDecay,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Self; 3] = [
        Self::AdamOvershoot,
        Self::AdaBoundToSgd,
        Self::DecoupledDecay,
    ];

    /// Its title.
    pub const fn title(self) -> &'static str {
        match self {
            Self::AdamOvershoot => "Adam leaves a saddle at once; RAdam warms up",
            Self::AdaBoundToSgd => "AdaBound turns into SGD as its bounds close",
            Self::DecoupledDecay => "Adam + L2 against AdamW's decoupled decay",
        }
    }

    /// What the user should look for.
    pub const fn explanation(self) -> &'static str {
        match self {
            Self::AdamOvershoot => {
                "Adam divides each coordinate's step by that coordinate's own gradient scale, so \
                 from its first step it moves about lr along the flat escape direction (y) as \
                 far as along the steep one: it leaves the saddle at once, and at a high learning \
                 rate these full-size steps are what overshoot. RAdam computes the same moments, \
                 but for its first steps the variance of the adaptive rate is intractable (r_t is \
                 0 in the internals view) and it takes plain momentum steps, lr x gradient: its \
                 first step is exactly SGD's. Then the adaptive step switches on, scaled by r_t \
                 as it grows: a warm-up built into the rule. SGD's step follows the tiny \
                 y-gradient: it crawls, then accelerates."
            }
            Self::AdaBoundToSgd => {
                "AdaBound clips Adam's per-element step size between a lower and an upper bound \
                 that both converge to final_lr (gamma sets how fast). Early on the bounds are \
                 wide and it moves like Adam; later the bounds pinch every coordinate to the same \
                 rate and it moves like SGD with momentum at final_lr. Raise gamma to see the \
                 change sooner."
            }
            Self::DecoupledDecay => {
                "With L2 decay Adam adds wd x theta to the gradient, and the adaptive denominator \
                 then scales the decay like the gradient: where gradients are large it hardly \
                 counts. AdamW shrinks the weights directly, theta <- theta - lr x wd x theta, in \
                 every coordinate alike. Both are pulled from the minimum (1, 1) towards the \
                 origin, to different points: here AdamW ends nearer the origin."
            }
        }
    }

    pub(super) fn apply(self, view: &mut TeachingView) {
        let spec = |kind, lr: f64| {
            let mut spec = OptimizerSpec::new(kind);
            spec.lr = Some(lr);
            spec
        };
        let (function, steps, specs) = match self {
            Self::AdamOvershoot => (
                TestFunction::Saddle,
                40,
                vec![
                    spec(OptimizerKind::Adam, 0.1),
                    spec(OptimizerKind::RAdam, 0.1),
                    spec(OptimizerKind::Sgd, 0.1),
                ],
            ),
            Self::AdaBoundToSgd => {
                let mut adabound = spec(OptimizerKind::AdaBound, 0.1);
                adabound.final_lr = Some(0.01);
                adabound.gamma = Some(0.01);
                (
                    TestFunction::Quadratic,
                    400,
                    vec![
                        adabound,
                        spec(OptimizerKind::Adam, 0.1),
                        spec(OptimizerKind::Sgd, 0.01),
                    ],
                )
            }
            Self::DecoupledDecay => {
                let mut adam = spec(OptimizerKind::Adam, 0.05);
                adam.weight_decay = Some(0.5);
                let mut adamw = spec(OptimizerKind::AdamW, 0.05);
                adamw.weight_decay = Some(0.5);
                (
                    TestFunction::Rosenbrock,
                    600,
                    vec![adam, adamw, spec(OptimizerKind::Adam, 0.05)],
                )
            }
        };
        view.function = function;
        view.start = function.classic_start();
        view.steps = steps;
        view.racers = specs
            .into_iter()
            .map(|spec| Racer {
                enabled: true,
                spec,
            })
            .collect();
        view.selected = 0;
        view.scenario = Some(self);
        view.restart();
    }
}
