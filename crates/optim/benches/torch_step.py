"""PyTorch's CPU optimizer steps over 23,520,842 f32 parameters, to set beside `cargo bench
-p stepwise-optim --bench step` (same machine, same size, same thread count).

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch adabound
    /tmp/ref/bin/python crates/optim/benches/torch_step.py [threads]

Prints the median of 15 steps after 3 warm-ups for each optimizer and implementation
(fused / foreach / single-tensor `for` loop), and a pass moving Adam's 28 bytes per parameter.
"""

import statistics
import sys
import time

import adabound
import torch

N = 23_520_842


def median_ms(step, repeats=15, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def optimizer_case(make):
    p = torch.nn.Parameter(torch.rand(N) * 2 - 1)
    p.grad = torch.rand(N) * 2 - 1
    optimizer = make([p])
    return median_ms(optimizer.step)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {threads} threads, N = {N}")
    cases = {
        "sgd_momentum (foreach=False)": lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, foreach=False),
        "sgd_momentum (fused)": lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, fused=True),
        "adam (fused)": lambda ps: torch.optim.Adam(ps, fused=True),
        "adam (foreach)": lambda ps: torch.optim.Adam(ps, foreach=True),
        "adam (foreach=False)": lambda ps: torch.optim.Adam(ps, foreach=False),
        "adam_amsgrad (fused)": lambda ps: torch.optim.Adam(ps, amsgrad=True, fused=True),
        "adamw (fused)": lambda ps: torch.optim.AdamW(ps, fused=True),
        "adabound (reference)": lambda ps: adabound.AdaBound(ps),
        "radam (foreach=False)": lambda ps: torch.optim.RAdam(ps, foreach=False),
        "radam (foreach)": lambda ps: torch.optim.RAdam(ps, foreach=True),
    }
    with torch.no_grad():
        for name, make in cases.items():
            print(f"{name:32s} {optimizer_case(make):8.1f} ms")
        p, g, m, v = (torch.rand(N) for _ in range(4))

        def copy_28_bytes():
            p.add_(g)
            m.copy_(g)
            v.copy_(p)

        print(f"{'copy_28_bytes (3 passes)':32s} {median_ms(copy_28_bytes):8.1f} ms")


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    main()
