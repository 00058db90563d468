//! The slices one update reads and writes, split into blocks that run in parallel.
//!
//! An optimizer step is bound by memory traffic (Adam moves 28 bytes per parameter), so the update
//! is one pass over all slices at once, divided between threads by halving (`rayon::join`). Blocks
//! are large enough to hide the threading cost and small enough to stay in cache; inputs no larger
//! than one block run on the calling thread without touching the pool (and on wasm, where rayon has
//! no threads, everything runs sequentially).

use crate::StateError;

/// Elements per block: 4 slices × 32 Ki × 4 bytes = 512 KiB, about one L2 cache.
const BLOCK: usize = 32 * 1024;

/// Slices of equal length that can be cut in two at the same index.
pub(crate) trait Lanes: Sized + Send {
    /// Elements in each slice.
    fn len(&self) -> usize;
    /// The first `mid` elements of every slice, and the rest.
    fn split_at(self, mid: usize) -> (Self, Self);
}

/// Runs `update` over `lanes` in blocks, in parallel where it pays.
pub(crate) fn for_each_block<L: Lanes>(lanes: L, update: &(impl Fn(L) + Sync)) {
    let len = lanes.len();
    if len <= BLOCK {
        update(lanes);
    } else {
        // Split on a block boundary so every leaf but the last is a whole block.
        let mid = len.div_ceil(2 * BLOCK) * BLOCK;
        let (head, tail) = lanes.split_at(mid);
        rayon::join(
            || for_each_block(head, update),
            || for_each_block(tail, update),
        );
    }
}

/// Checks that a buffer has as many elements as the parameter.
pub(crate) fn check_len(
    buffer: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), StateError> {
    if expected == found {
        Ok(())
    } else {
        Err(StateError::LengthMismatch {
            buffer,
            expected,
            found,
        })
    }
}

/// Parameter, gradient and optional momentum buffer (SGD).
pub(crate) struct SgdLanes<'a> {
    pub param: &'a mut [f32],
    pub grad: &'a [f32],
    pub momentum_buffer: Option<&'a mut [f32]>,
}

impl Lanes for SgdLanes<'_> {
    fn len(&self) -> usize {
        self.param.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p0, p1) = self.param.split_at_mut(mid);
        let (g0, g1) = self.grad.split_at(mid);
        let (b0, b1) = match self.momentum_buffer {
            Some(b) => {
                let (b0, b1) = b.split_at_mut(mid);
                (Some(b0), Some(b1))
            }
            None => (None, None),
        };
        (
            SgdLanes {
                param: p0,
                grad: g0,
                momentum_buffer: b0,
            },
            SgdLanes {
                param: p1,
                grad: g1,
                momentum_buffer: b1,
            },
        )
    }
}

/// Parameter, gradient, both moments and the optional running maximum of the second moment
/// (Adam, AdamW, AdaBound, AdaBoundW, RAdam).
pub(crate) struct MomentLanes<'a> {
    pub param: &'a mut [f32],
    pub grad: &'a [f32],
    pub exp_avg: &'a mut [f32],
    pub exp_avg_sq: &'a mut [f32],
    pub max_exp_avg_sq: Option<&'a mut [f32]>,
}

impl Lanes for MomentLanes<'_> {
    fn len(&self) -> usize {
        self.param.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p0, p1) = self.param.split_at_mut(mid);
        let (g0, g1) = self.grad.split_at(mid);
        let (m0, m1) = self.exp_avg.split_at_mut(mid);
        let (v0, v1) = self.exp_avg_sq.split_at_mut(mid);
        let (x0, x1) = match self.max_exp_avg_sq {
            Some(x) => {
                let (x0, x1) = x.split_at_mut(mid);
                (Some(x0), Some(x1))
            }
            None => (None, None),
        };
        (
            MomentLanes {
                param: p0,
                grad: g0,
                exp_avg: m0,
                exp_avg_sq: v0,
                max_exp_avg_sq: x0,
            },
            MomentLanes {
                param: p1,
                grad: g1,
                exp_avg: m1,
                exp_avg_sq: v1,
                max_exp_avg_sq: x1,
            },
        )
    }
}

/// `torch.maximum`: the larger value, NaN if either is NaN (`f32::max` would drop the NaN).
#[inline(always)]
pub(crate) fn nan_max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else if a <= b {
        b
    } else {
        a + b
    }
}

/// `torch.clamp`: NaN stays NaN (`f32::clamp` would also, but panics when bounds are unordered).
#[inline(always)]
pub(crate) fn nan_clamp(x: f32, lower: f32, upper: f32) -> f32 {
    if x < lower {
        lower
    } else if x > upper {
        upper
    } else {
        x
    }
}

/// The Adam family's second moment, torch's `mul` + `addcmul`: β2·v + (1 − β2)·g², one fused
/// multiply-add (Adam, RAdam, AdaBound; `second_moment` in `shaders/common.wgsl`).
#[inline(always)]
pub(crate) fn second_moment(v: f32, g: f32, beta2: f32, one_minus_beta2: f32) -> f32 {
    (one_minus_beta2 * g).mul_add(g, v * beta2)
}

/// Adam's and RAdam's first moment, torch's `lerp`: m + (1 − β1)·(g − m), one fused multiply-add
/// (`lerp_moment` in `shaders/common.wgsl`).
#[inline(always)]
pub(crate) fn lerp_moment(m: f32, g: f32, one_minus_beta1: f32) -> f32 {
    one_minus_beta1.mul_add(g - m, m)
}

/// The per-element rule of an optimizer on [`MomentLanes`] with an optional running maximum of the
/// second moment (AMSGrad, AMSBound): Adam, AdamW, AdaBound, AdaBoundW, RAdam.
pub(crate) trait MomentRule: Sync {
    /// Weight decay, L2 and both moment updates of one element; returns the new second moment.
    fn moments(&self, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) -> f32;
    /// The parameter after the step, from the first moment and the (maximal) second moment.
    fn descend(&self, p: f32, m: f32, v_hat: f32) -> f32;
}

/// Applies `rule` to every element of `lanes`, in parallel blocks.
pub(crate) fn apply_moment_rule(rule: &impl MomentRule, lanes: MomentLanes<'_>) {
    for_each_block(lanes, &|block| moment_rule_block(rule, block));
}

/// One block: the branch on the running maximum is taken once, outside the loop.
fn moment_rule_block(rule: &impl MomentRule, lanes: MomentLanes<'_>) {
    let MomentLanes {
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
    } = lanes;
    let n = param.len();
    // Re-sliced to one length so that the loops run without bounds checks.
    let (grad, exp_avg, exp_avg_sq) = (&grad[..n], &mut exp_avg[..n], &mut exp_avg_sq[..n]);
    match max_exp_avg_sq {
        None => {
            for i in 0..n {
                let v = rule.moments(&mut param[i], grad[i], &mut exp_avg[i], &mut exp_avg_sq[i]);
                param[i] = rule.descend(param[i], exp_avg[i], v);
            }
        }
        Some(max_exp_avg_sq) => {
            let max_exp_avg_sq = &mut max_exp_avg_sq[..n];
            for i in 0..n {
                let v = rule.moments(&mut param[i], grad[i], &mut exp_avg[i], &mut exp_avg_sq[i]);
                max_exp_avg_sq[i] = nan_max(max_exp_avg_sq[i], v);
                param[i] = rule.descend(param[i], exp_avg[i], max_exp_avg_sq[i]);
            }
        }
    }
}
