#!/usr/bin/env python3
"""PyTorch's training throughput for the same ResNets, beside `cargo bench -p stepwise-model
--bench throughput`: forward, cross-entropy, backward and an Adam step at batch 32 (or BATCH) on CIFAR-sized
random inputs, images per second after 3 warm-up steps: synchronised after each phase (the phase
split), then the same number of steps queued back to back with one synchronisation at the end (the
steady rate), as throughput.rs measures.

    python3 crates/model/benches/torch_train.py [ARCH [STEPS [cpu|cuda [BATCH]]]]
                                                (default resnet18 10 cpu 32)

The networks are the CIFAR-form definitions Stepwise uses (pytorch-cifar's ResNet18/34/50 and the
16/32/64-wide ResNet-8/14/20, 1x1 projection shortcuts); the parameter count is printed so that it
can be checked against `stepwise model summary`.
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        self.units = nn.ModuleList([
            nn.Sequential(nn.Conv2d(cin, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)),
            nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width)),
        ])
        self.shortcut = projection(cin, width, stride)

    def forward(self, x):
        out = F.relu(self.units[0](x))
        return F.relu(self.units[1](out) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        out = 4 * width
        self.units = nn.ModuleList([
            nn.Sequential(nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)),
            nn.Sequential(nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)),
            nn.Sequential(nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out)),
        ])
        self.shortcut = projection(cin, out, stride)

    def forward(self, x):
        out = F.relu(self.units[0](x))
        out = F.relu(self.units[1](out))
        return F.relu(self.units[2](out) + self.shortcut(x))


def projection(cin, cout, stride):
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


ARCHS = {
    "resnet8": (Basic, [16, 32, 64], [1, 1, 1]),
    "resnet14": (Basic, [16, 32, 64], [2, 2, 2]),
    "resnet20": (Basic, [16, 32, 64], [3, 3, 3]),
    "resnet18": (Basic, [64, 128, 256, 512], [2, 2, 2, 2]),
    "resnet34": (Basic, [64, 128, 256, 512], [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [64, 128, 256, 512], [3, 4, 6, 3]),
}


class ResNet(nn.Module):
    def __init__(self, arch, classes=10):
        super().__init__()
        block, widths, blocks = ARCHS[arch]
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]))
        layers, cin = [], widths[0]
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            for b in range(count):
                layers.append(block(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width * block.expansion
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def main():
    arch = sys.argv[1] if len(sys.argv) > 1 else "resnet18"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    torch.manual_seed(0)
    model = ResNet(arch).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, 32, 32, device=device)
    labels = torch.randint(0, 10, (batch,), device=device)
    # Where a step's time goes, each phase ended by a synchronisation (as in throughput.rs).
    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    phases = ["data + upload", "forward + loss", "backward", "optimizer step"]
    spent = [0.0] * 4
    host_images, host_labels = images.cpu(), labels.cpu()
    for step in range(steps + 3):
        sync()
        marks = [time.perf_counter()]
        uploaded = host_images.to(device), host_labels.to(device)
        sync()
        marks.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(uploaded[0]), uploaded[1])
        sync()
        marks.append(time.perf_counter())
        loss.backward()
        sync()
        marks.append(time.perf_counter())
        optimizer.step()
        sync()
        marks.append(time.perf_counter())
        if step >= 3:
            for i in range(4):
                spent[i] += marks[i + 1] - marks[i]
    elapsed = sum(spent)
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__} {arch} ({params:,} parameters) on {device}, "
          f"{torch.get_num_threads()} threads: {steps / elapsed:.3f} steps/s = "
          f"{batch * steps / elapsed:.1f} images/s (batch {batch}, Adam, synced after each phase)")
    for phase, seconds in zip(phases, spent):
        print(f"  {phase:<15} {1e3 * seconds / steps:>9.1f} ms/step  {100 * seconds / elapsed:>5.1f}%")
    # The same steps queued back to back, one synchronisation at the end.
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        batch_images, batch_labels = host_images.to(device), host_labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(batch_images), batch_labels).backward()
        optimizer.step()
    sync()
    steady = steps / (time.perf_counter() - started)
    print(f"steady {arch}: {steady:.3f} steps/s = {batch * steady:.1f} images/s over {steps} steps "
          "(one sync at the end)")


if __name__ == "__main__":
    main()
