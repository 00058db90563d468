#!/usr/bin/env python3
"""The README's main job written in PyTorch: `stepwise compare --preset seed-optimizers --quick`.

Five runs of one ResNet from the same initial weights on the same batches, interleaved step by
step: SGD (lr 0.01, momentum 0.9), Adam, AdamW (weight decay 1e-5), AdaBound (Luolc's `adabound`)
and RAdam, all at lr 0.001, batch 32, no augmentation; loss and gradient norm read back every step;
after each epoch every run is evaluated on the test images (batch norm's running statistics). The
networks are those of `crates/model/benches/torch_train.py`; the images are read from the same
CIFAR-10 binary files Stepwise reads and normalised with the same constants.

    python3 crates/cli/benches/torch_main_job.py [--model resnet8] [--epochs 3]
        [--train-images 2000] [--test-images 1000] [--data DIR] [--device cpu|cuda] [--json FILE]

DIR holds `cifar-10-batches-bin/` (an installed CIFAR-10) or `train.bin` and `test.bin` (the sample
shipped in `crates/data/sample`, the default). Prints training images per second per run (training
steps only, as Stepwise's `images_per_second`) and writes them, with the wall time, to FILE as JSON.
"""
import argparse
import copy
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "model", "benches"))
from torch_train import ResNet  # noqa: E402  (the same network definitions)

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "data", "sample")
# Stepwise's Normalization::CIFAR10 (crates/data/src/batch.rs).
MEAN = np.array([0.4913997, 0.4821584, 0.4465309], dtype=np.float32)
STD = np.array([0.2470322, 0.2434851, 0.2615878], dtype=np.float32)
EVAL_BATCH = 100
RECORD = 3073


def read_records(paths, count):
    raw = b"".join(open(p, "rb").read() for p in paths)
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)[:count]
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    pixels = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    pixels = (pixels - MEAN[None, :, None, None]) / STD[None, :, None, None]
    return torch.from_numpy(pixels), labels


def load(data_dir, train_images, test_images):
    installed = os.path.join(data_dir, "cifar-10-batches-bin")
    if os.path.isdir(installed):
        train = [os.path.join(installed, f"data_batch_{i}.bin") for i in range(1, 6)]
        test = [os.path.join(installed, "test_batch.bin")]
    else:
        train = [os.path.join(data_dir, "train.bin")]
        test = [os.path.join(data_dir, "test.bin")]
    return read_records(train, train_images), read_records(test, test_images)


def optimizers():
    import adabound

    # adabound 0.0.5 calls a deprecated overload of add_ each step; the warning is noise here.
    warnings.filterwarnings("ignore", category=UserWarning, module="adabound")

    return [
        ("SGD", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)),
        ("Adam", lambda p: torch.optim.Adam(p, lr=0.001)),
        ("AdamW", lambda p: torch.optim.AdamW(p, lr=0.001, weight_decay=1e-5)),
        ("AdaBound", lambda p: adabound.AdaBound(p, lr=0.001)),
        ("RAdam", lambda p: torch.optim.RAdam(p, lr=0.001)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet8")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--data", default=SAMPLE)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    started = time.perf_counter()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    (train_x, train_y), (test_x, test_y) = load(args.data, args.train_images, args.test_images)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    initial = ResNet(args.model).to(device)
    runs = []
    for name, make in optimizers():
        model = copy.deepcopy(initial)
        runs.append({"name": name, "model": model, "optimizer": make(model.parameters()),
                     "seconds": 0.0, "images": 0, "accuracy": []})
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_y), generator=generator)
        for start in range(0, len(order), args.batch_size):
            picks = order[start:start + args.batch_size]
            images, labels = train_x[picks].to(device), train_y[picks].to(device)
            for run in runs:
                sync()
                begun = time.perf_counter()
                model, optimizer = run["model"], run["optimizer"]
                model.train()
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(images), labels)
                loss.backward()
                grad_norm = torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(p.grad) for p in model.parameters()]))
                optimizer.step()
                # Read back every step, as Stepwise records loss and gradient norm every step.
                loss.item(), grad_norm.item()
                run["seconds"] += time.perf_counter() - begun
                run["images"] += len(picks)
        for run in runs:
            run["model"].eval()
            correct = 0
            with torch.no_grad():
                for start in range(0, len(test_y), EVAL_BATCH):
                    logits = run["model"](test_x[start:start + EVAL_BATCH].to(device))
                    correct += (logits.argmax(1).cpu() == test_y[start:start + EVAL_BATCH]).sum().item()
            run["accuracy"].append(correct / len(test_y))
    wall = time.perf_counter() - started
    results = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "model": args.model,
        "wall_seconds": wall,
        "runs": [{"name": r["name"], "images_per_second": r["images"] / r["seconds"],
                  "test_accuracy": r["accuracy"]} for r in runs],
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.model} on "
          f"{args.device}: {args.epochs} epochs of {len(train_y)} images, {wall:.1f} s in all")
    for r in results["runs"]:
        print(f"  {r['name']:<9} {r['images_per_second']:8.1f} training images/s, test accuracy "
              + " ".join(f"{a:.3f}" for a in r["test_accuracy"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
