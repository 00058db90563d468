#!/usr/bin/env python3
"""The README's main job beside the same job in PyTorch, back to back on the same data.

    python3 crates/cli/benches/main_job.py [--stepwise target/release/stepwise]
        [--python python3] [--repeat N] [--device cpu|gpu] [--data-dir DIR] [--keep DIR]

Runs `stepwise compare --preset seed-optimizers --quick --seeds 1 --device DEVICE` (one seed, as
the PyTorch job trains; the preset's three seeds take three times as long on both sides) and
`torch_main_job.py` (the same five optimizers, network, batch size, epochs and image counts; on
`cuda` where DEVICE is `gpu`) in turn, N times (A B A B ...), and prints each run's training images
per second (training steps only: Stepwise's `images_per_second`, summed over epochs), each job's
end-to-end wall and CPU seconds, and the ratios Stepwise / PyTorch: medians over the repeats, so
that the two sides share the machine's state. Without `--data-dir` both read the sample shipped in
`crates/data/sample` (Stepwise through an empty data folder); with it, that installation.
The PyTorch side needs `torch` and `adabound` (`pip install torch adabound numpy`).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
SAMPLE = os.path.join(ROOT, "crates", "data", "sample")


def timed(command, log):
    """Wall seconds and the child's CPU seconds (user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "w") as out:
        status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if status != 0:
        sys.exit(f"{command[0]} failed with status {status}; its output is in {log}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def stepwise_rates(results_json):
    with open(results_json) as f:
        results = json.load(f)
    rates = {}
    for run in results["runs"]:
        images = sum(e["images_per_second"] * e["seconds"] for e in run["epochs"])
        seconds = sum(e["seconds"] for e in run["epochs"])
        rates[run["name"]] = images / seconds
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stepwise", default=os.path.join(ROOT, "target", "release", "stepwise"))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--data-dir")
    parser.add_argument("--keep", help="keep every output and log in this folder")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="stepwise-main-job-")
    os.makedirs(work, exist_ok=True)
    empty = os.path.join(work, "no-data")
    os.makedirs(empty, exist_ok=True)
    stepwise_data = args.data_dir or empty
    torch_data = args.data_dir or SAMPLE
    torch_device = "cuda" if args.device == "gpu" else "cpu"

    sides = {"stepwise": [], "pytorch": []}
    for i in range(args.repeat):
        out = os.path.join(work, f"stepwise-{i}")
        wall, cpu = timed(
            [args.stepwise, "compare", "--preset", "seed-optimizers", "--quick", "--seeds", "1",
             "--device", args.device, "--data-dir", stepwise_data, "--out", out, "--force"],
            os.path.join(work, f"stepwise-{i}.log"))
        sides["stepwise"].append((wall, cpu, stepwise_rates(os.path.join(out, "results.json"))))
        report = os.path.join(work, f"pytorch-{i}.json")
        wall, cpu = timed(
            [args.python, os.path.join(HERE, "torch_main_job.py"), "--device", torch_device,
             "--data", torch_data, "--json", report],
            os.path.join(work, f"pytorch-{i}.log"))
        with open(report) as f:
            rates = {r["name"]: r["images_per_second"] for r in json.load(f)["runs"]}
        sides["pytorch"].append((wall, cpu, rates))

    def median(side, pick):
        return statistics.median(pick(sample) for sample in sides[side])

    print(f"main job (seed-optimizers --quick, {args.device}), {args.repeat} repeat(s), medians; "
          f"outputs in {work}")
    print(f"{'run':<10} {'Stepwise img/s':>15} {'PyTorch img/s':>14} {'Stepwise/PyTorch':>17}")
    names = list(sides["stepwise"][0][2])
    for name in names:
        ours = median("stepwise", lambda s: s[2][name])
        theirs = median("pytorch", lambda s: s[2][name])
        print(f"{name:<10} {ours:>15.1f} {theirs:>14.1f} {ours / theirs:>17.2f}")
    ours = median("stepwise", lambda s: s[0])
    theirs = median("pytorch", lambda s: s[0])
    print(f"{'end to end':<10} {ours:>13.1f} s {theirs:>12.1f} s {theirs / ours:>17.2f}"
          "  (speed: PyTorch s / Stepwise s)")
    ours_cpu = median("stepwise", lambda s: s[1])
    theirs_cpu = median("pytorch", lambda s: s[1])
    print(f"{'CPU time':<10} {ours_cpu:>13.1f} s {theirs_cpu:>12.1f} s"
          f"  (cores busy: {ours_cpu / ours:.2f} vs {theirs_cpu / theirs:.2f})")


if __name__ == "__main__":
    main()
