"""Reference trajectories from real PyTorch (torch.optim) and Luolc's AdaBound (pip `adabound`).

Writes, beside this script:
  optimizers.json  every optimizer and variant on a 257-element vector for 250 steps, weight decay on
                   and off, some under lr schedules: parameters at checkpoints and the final state.
  traces.json      `stepwise trace` trajectories: every 2-D function x optimizer, 300 steps.

The Rust tests in tests/e2e/ hold stepwise-optim and the `stepwise` binary to these files. CI does not
run this script; rerun it (and commit both files) only when the cases change:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch adabound numpy
    /tmp/ref/bin/python tests/reference/generate.py

Optimizer specs are written in Stepwise's own spec format (the keys of `OptimizerSpec`), so each case
says once what it runs; `torch_optimizer` below turns a spec into the reference optimizer.
"""

import json
import math
import pathlib
import warnings

import adabound
import numpy as np
import torch

warnings.filterwarnings("ignore", category=UserWarning)  # adabound uses deprecated add_ overloads

HERE = pathlib.Path(__file__).resolve().parent
SEED = 20261129
VECTOR_LEN = 257
VECTOR_STEPS = 250
CHECKPOINTS = [1, 2, 3, 4, 5, 6, 7, 10, 25, 50, 100, 150, 200, 250]
TRACE_STEPS = 300


class AdaBoundW(adabound.AdaBound):
    """AdaBoundW as in Luolc's repository (not in the pip package): no L2 term; after the bounded
    step, p -= weight_decay * p_old (not scaled by lr)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, base_lr in zip(self.param_groups, self.base_lrs):
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                amsbound = group["amsbound"]
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if amsbound:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if amsbound:
                    max_exp_avg_sq = state["max_exp_avg_sq"]
                    torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = max_exp_avg_sq.sqrt().add_(group["eps"])
                else:
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                step_size = group["lr"] * math.sqrt(bias_correction2) / bias_correction1
                final_lr = group["final_lr"] * group["lr"] / base_lr
                lower_bound = final_lr * (1 - 1 / (group["gamma"] * state["step"] + 1))
                upper_bound = final_lr * (1 + 1 / (group["gamma"] * state["step"]))
                step_size = torch.full_like(denom, step_size)
                step_size.div_(denom).clamp_(lower_bound, upper_bound).mul_(exp_avg)
                if group["weight_decay"] != 0:
                    decayed_weights = torch.mul(p, group["weight_decay"])
                    p.add_(-step_size)
                    p.sub_(decayed_weights)
                else:
                    p.add_(-step_size)


def torch_optimizer(spec, params):
    """The reference optimizer for a Stepwise spec; unset keys keep the reference defaults."""
    name = spec["optimizer"]
    kw = {k: v for k, v in spec.items() if k != "optimizer"}
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    # torch.optim.SGD, Adam, AdamW and RAdam run their single-tensor path on CPU tensors
    # (foreach and fused are CUDA defaults); asking for it makes that explicit.
    if name == "sgd":
        return torch.optim.SGD(params, foreach=False, **kw)
    if name == "adam":
        return torch.optim.Adam(params, foreach=False, **kw)
    if name == "adamw":
        return torch.optim.AdamW(params, foreach=False, **kw)
    if name == "radam":
        return torch.optim.RAdam(params, foreach=False, **kw)
    if "amsgrad" in kw:
        kw["amsbound"] = kw.pop("amsgrad")
    if name == "adabound":
        return adabound.AdaBound(params, **kw)
    if name == "adaboundw":
        return AdaBoundW(params, **kw)
    raise ValueError(name)


def torch_scheduler(schedule, optimizer):
    """The torch.optim.lr_scheduler equivalent of a Stepwise `LrSchedule`."""
    kind = schedule["schedule"]
    sched = torch.optim.lr_scheduler
    if kind == "step":
        return sched.StepLR(optimizer, step_size=schedule["step_size"], gamma=schedule["gamma"])
    if kind == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=schedule["t_max"], eta_min=schedule["eta_min"])
    if kind == "warmup":
        warmup = sched.LinearLR(
            optimizer,
            start_factor=schedule["start_factor"],
            end_factor=1.0,
            total_iters=schedule["warmup_steps"],
        )
        then = torch_scheduler(schedule["then"], optimizer)
        return sched.SequentialLR(optimizer, [warmup, then], milestones=[schedule["warmup_steps"]])
    raise ValueError(kind)


def f32_list(tensor):
    values = tensor.detach().to(torch.float32).flatten().tolist()
    assert all(math.isfinite(v) for v in values), "reference values must be finite"
    return values


VECTOR_CASES = [
    # (name, spec, schedule or None)
    ("sgd", {"optimizer": "sgd", "lr": 0.05}, None),
    ("sgd_l2", {"optimizer": "sgd", "lr": 0.05, "weight_decay": 0.05}, None),
    ("sgd_momentum", {"optimizer": "sgd", "lr": 0.02, "momentum": 0.9}, None),
    ("sgd_dampening_l2", {"optimizer": "sgd", "lr": 0.02, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01}, None),
    ("sgd_nesterov", {"optimizer": "sgd", "lr": 0.02, "momentum": 0.9, "nesterov": True}, None),
    ("sgd_nesterov_l2_step", {"optimizer": "sgd", "lr": 0.02, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02},
     {"schedule": "step", "step_size": 60, "gamma": 0.5}),
    ("adam", {"optimizer": "adam"}, None),
    ("adam_l2", {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.05}, None),
    ("adam_amsgrad", {"optimizer": "adam", "lr": 0.01, "amsgrad": True}, None),
    ("adam_amsgrad_l2_betas", {"optimizer": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6,
                               "amsgrad": True, "weight_decay": 0.01}, None),
    ("adam_warmup_cosine", {"optimizer": "adam", "lr": 0.02},
     {"schedule": "warmup", "warmup_steps": 20, "start_factor": 0.1,
      "then": {"schedule": "cosine", "t_max": 100, "eta_min": 0.001}}),
    ("adamw", {"optimizer": "adamw"}, None),
    ("adamw_strong_decay", {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.1}, None),
    ("adamw_no_decay", {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.0}, None),
    ("adamw_amsgrad", {"optimizer": "adamw", "lr": 0.01, "amsgrad": True, "weight_decay": 0.05}, None),
    ("adabound", {"optimizer": "adabound"}, None),
    ("adabound_fast_bounds", {"optimizer": "adabound", "lr": 0.01, "final_lr": 0.05, "gamma": 0.01}, None),
    ("adabound_l2", {"optimizer": "adabound", "lr": 0.01, "weight_decay": 0.05, "gamma": 0.01}, None),
    ("amsbound", {"optimizer": "adabound", "lr": 0.01, "amsgrad": True, "gamma": 0.01}, None),
    ("adabound_step_schedule", {"optimizer": "adabound", "lr": 0.01, "final_lr": 0.05, "gamma": 0.01},
     {"schedule": "step", "step_size": 50, "gamma": 0.5}),
    ("adaboundw", {"optimizer": "adaboundw", "lr": 0.01, "weight_decay": 0.01, "gamma": 0.01}, None),
    ("amsboundw", {"optimizer": "adaboundw", "lr": 0.01, "weight_decay": 0.005, "amsgrad": True, "gamma": 0.01}, None),
    ("adaboundw_no_decay", {"optimizer": "adaboundw", "lr": 0.01, "beta1": 0.8, "beta2": 0.99}, None),
    ("radam", {"optimizer": "radam"}, None),
    ("radam_fast", {"optimizer": "radam", "lr": 0.01, "beta2": 0.99}, None),
    ("radam_l2", {"optimizer": "radam", "lr": 0.01, "weight_decay": 0.05}, None),
    ("radam_decoupled", {"optimizer": "radam", "lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}, None),
    ("radam_cosine", {"optimizer": "radam", "lr": 0.01, "beta1": 0.8, "eps": 1e-6},
     {"schedule": "cosine", "t_max": 80, "eta_min": 0.0}),
]


def vector_problem(generator):
    """Initial parameters, and a gradient g_t = c*p + d*s_t (a quadratic pull plus noise whose
    magnitude varies over four orders between elements); element 0 always has a zero gradient."""
    n = VECTOR_LEN
    scale = 10.0 ** (torch.rand(n, generator=generator) * 3 - 2)
    p0 = (torch.randn(n, generator=generator) * scale).float()
    c = (torch.rand(n, generator=generator) * 1.95 + 0.05).float()
    d = (torch.randn(n, generator=generator) * 10.0 ** (torch.rand(n, generator=generator) * 4 - 3)).float()
    c[0] = 0.0
    d[0] = 0.0
    s = torch.randn(VECTOR_STEPS, generator=generator).float()
    return p0, c, d, s


def run_vector_case(spec, schedule, p0, c, d, s):
    p = torch.nn.Parameter(p0.clone())
    optimizer = torch_optimizer(spec, [p])
    scheduler = torch_scheduler(schedule, optimizer) if schedule else None
    checkpoints = {}
    lrs = []
    for t in range(1, VECTOR_STEPS + 1):
        lrs.append(optimizer.param_groups[0]["lr"])
        with torch.no_grad():
            p.grad = c * p + d * float(s[t - 1])
        optimizer.step()
        if scheduler:
            scheduler.step()
        if t in CHECKPOINTS:
            checkpoints[str(t)] = f32_list(p)
    state = {
        key: f32_list(value)
        for key, value in optimizer.state[p].items()
        if key in ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    }
    return {"params": checkpoints, "state": state, "lr": lrs}


FUNCTIONS = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "beale": lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
    "rastrigin": lambda x, y: 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y),
    "saddle": lambda x, y: x**2 - y**2,
    "quadratic": lambda x, y: 0.5 * (x**2 + 50 * y**2),
}

TRACE_STARTS = {
    "rosenbrock": [-1.5, 2.0],
    "beale": [1.0, 1.5],
    "rastrigin": [2.3, -1.7],
    "saddle": [1.0, 0.001],
    "quadratic": [3.0, 1.0],
}

TRACE_SPECS = [
    {"optimizer": "sgd"},
    {"optimizer": "sgd", "lr": 0.0005, "momentum": 0.9, "nesterov": True},
    {"optimizer": "adam"},
    {"optimizer": "adam", "lr": 0.05, "amsgrad": True},
    {"optimizer": "adamw", "lr": 0.05},
    {"optimizer": "adabound"},
    {"optimizer": "adabound", "lr": 0.02, "gamma": 0.01, "final_lr": 0.001},
    {"optimizer": "adaboundw", "lr": 0.01, "weight_decay": 0.001, "amsgrad": True},
    {"optimizer": "radam"},
    {"optimizer": "radam", "lr": 0.002, "weight_decay": 0.01, "decoupled_weight_decay": True},
]


def run_trace(function, spec, start):
    xy = torch.tensor(start, dtype=torch.float32, requires_grad=True)
    optimizer = torch_optimizer(spec, [xy])
    f = FUNCTIONS[function]
    x, y, loss = [], [], []
    for k in range(TRACE_STEPS + 1):
        optimizer.zero_grad()
        value = f(xy[0], xy[1])
        x.append(xy[0].item())
        y.append(xy[1].item())
        loss.append(value.item())
        if k == TRACE_STEPS:
            break
        value.backward()
        optimizer.step()
    assert all(math.isfinite(v) for v in x + y + loss), f"{function} {spec} diverged"
    return {"x": x, "y": y, "loss": loss}


def main():
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(SEED)
    p0, c, d, s = vector_problem(generator)
    vectors = {
        "torch_version": torch.__version__,
        "adabound_version": "0.0.5",
        "seed": SEED,
        "steps": VECTOR_STEPS,
        "p0": f32_list(p0),
        "c": f32_list(c),
        "d": f32_list(d),
        "s": f32_list(s),
        "cases": [
            {"name": name, "spec": spec, "schedule": schedule, **run_vector_case(spec, schedule, p0, c, d, s)}
            for name, spec, schedule in VECTOR_CASES
        ],
    }
    traces = {
        "torch_version": torch.__version__,
        "steps": TRACE_STEPS,
        "cases": [
            {"function": function, "start": start, "spec": spec, **run_trace(function, spec, start)}
            for function, start in TRACE_STARTS.items()
            for spec in TRACE_SPECS
        ],
    }
    (HERE / "optimizers.json").write_text(json.dumps(vectors, separators=(",", ":")) + "\n")
    (HERE / "traces.json").write_text(json.dumps(traces, separators=(",", ":")) + "\n")
    print(f"wrote {len(vectors['cases'])} optimizer cases and {len(traces['cases'])} traces")


if __name__ == "__main__":
    main()
