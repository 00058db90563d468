//! Per-parameter optimizer state: the buffers kept beside each parameter tensor between steps.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::lanes::{MomentLanes, SgdLanes, check_len};

/// The state one parameter tensor carries between steps, named as in `torch.optim`'s state dicts.
///
/// The step counter `t` is not here: it belongs to the [`Optimizer`](crate::Optimizer), since every
/// parameter steps together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParamState {
    /// SGD without momentum keeps nothing.
    Stateless,
    /// SGD with momentum: the velocity buffer, zeros before the first step.
    Momentum {
        /// `buf` of torch.optim.SGD.
        momentum_buffer: Vec<f32>,
    },
    /// Adam, AdamW, AdaBound(W), RAdam: running averages of the gradient and its square.
    Moments {
        /// First moment `m`.
        exp_avg: Vec<f32>,
        /// Second moment `v` (raw, not bias-corrected).
        exp_avg_sq: Vec<f32>,
        /// Running maximum of `v` (AMSGrad / AMSBound only).
        max_exp_avg_sq: Option<Vec<f32>>,
    },
}

impl ParamState {
    /// A short name of the variant, for error messages.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Stateless => "stateless",
            Self::Momentum { .. } => "momentum",
            Self::Moments {
                max_exp_avg_sq: None,
                ..
            } => "moments",
            Self::Moments {
                max_exp_avg_sq: Some(_),
                ..
            } => "moments with running maximum",
        }
    }

    /// The buffers, named as in `torch.optim`'s state dicts, in the order the GPU kernels bind them.
    pub fn buffers(&self) -> Vec<(&'static str, &[f32])> {
        match self {
            Self::Stateless => vec![],
            Self::Momentum { momentum_buffer } => vec![("momentum_buffer", momentum_buffer)],
            Self::Moments {
                exp_avg,
                exp_avg_sq,
                max_exp_avg_sq,
            } => {
                let mut buffers = vec![("exp_avg", exp_avg.as_slice()), ("exp_avg_sq", exp_avg_sq)];
                if let Some(max) = max_exp_avg_sq {
                    buffers.push(("max_exp_avg_sq", max));
                }
                buffers
            }
        }
    }

    /// A state of the same kind as `self` holding `buffers`, given in [`buffers`](Self::buffers)
    /// order; missing buffers are empty.
    pub fn with_buffers(&self, buffers: impl IntoIterator<Item = Vec<f32>>) -> Self {
        let mut buffers = buffers.into_iter();
        let mut next = || buffers.next().unwrap_or_default();
        match self {
            Self::Stateless => Self::Stateless,
            Self::Momentum { .. } => Self::Momentum {
                momentum_buffer: next(),
            },
            Self::Moments { max_exp_avg_sq, .. } => Self::Moments {
                exp_avg: next(),
                exp_avg_sq: next(),
                max_exp_avg_sq: max_exp_avg_sq.as_ref().map(|_| next()),
            },
        }
    }

    /// Borrows the buffers SGD needs beside `param` and `grad`, checking kind and lengths.
    pub(crate) fn sgd_lanes<'a>(
        &'a mut self,
        param: &'a mut [f32],
        grad: &'a [f32],
        with_momentum: bool,
    ) -> Result<SgdLanes<'a>, StateError> {
        let n = param.len();
        check_len("grad", n, grad.len())?;
        let momentum_buffer = match (self, with_momentum) {
            (Self::Stateless, false) => None,
            (Self::Momentum { momentum_buffer }, true) => {
                check_len("momentum_buffer", n, momentum_buffer.len())?;
                Some(momentum_buffer.as_mut_slice())
            }
            (found, _) => {
                return Err(StateError::WrongKind {
                    expected: if with_momentum {
                        "momentum"
                    } else {
                        "stateless"
                    },
                    found: found.name(),
                });
            }
        };
        Ok(SgdLanes {
            param,
            grad,
            momentum_buffer,
        })
    }

    /// Borrows the moment buffers beside `param` and `grad`, checking kind and lengths.
    pub(crate) fn moment_lanes<'a>(
        &'a mut self,
        param: &'a mut [f32],
        grad: &'a [f32],
        with_max: bool,
    ) -> Result<MomentLanes<'a>, StateError> {
        let n = param.len();
        check_len("grad", n, grad.len())?;
        let found = self.name();
        let expected = if with_max {
            "moments with running maximum"
        } else {
            "moments"
        };
        let Self::Moments {
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
        } = self
        else {
            return Err(StateError::WrongKind { expected, found });
        };
        if max_exp_avg_sq.is_some() != with_max {
            return Err(StateError::WrongKind { expected, found });
        }
        check_len("exp_avg", n, exp_avg.len())?;
        check_len("exp_avg_sq", n, exp_avg_sq.len())?;
        if let Some(max) = max_exp_avg_sq {
            check_len("max_exp_avg_sq", n, max.len())?;
        }
        Ok(MomentLanes {
            param,
            grad,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq: max_exp_avg_sq.as_deref_mut(),
        })
    }
}

/// State that does not fit the parameter or the optimizer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StateError {
    /// A gradient or state buffer whose length differs from the parameter's.
    #[error("length mismatch: the parameter has {expected} elements but {buffer} has {found}")]
    LengthMismatch {
        /// Which buffer (`grad`, `exp_avg`, ...).
        buffer: &'static str,
        /// The parameter's length.
        expected: usize,
        /// The buffer's length.
        found: usize,
    },
    /// State of another optimizer (or variant, e.g. AMSGrad's extra buffer missing).
    #[error("state mismatch: this optimizer needs {expected} state, found {found}")]
    WrongKind {
        /// What the optimizer needs.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },
}
