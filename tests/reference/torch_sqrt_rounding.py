"""How often torch's float32 `sqrt` on the CPU differs from the correctly rounded square root (what
Rust's `f32::sqrt` gives), which is why the Adam family matches torch.optim to an ULP rather than bit
for bit. README's "Numerics" quotes its output.

    /tmp/ref/bin/python tests/reference/torch_sqrt_rounding.py
"""

import numpy as np
import torch

torch.manual_seed(0)
x = torch.rand(1_000_000, dtype=torch.float32) * 1e-3  # second moments are small
# The f64 root rounded once to f32 is the correctly rounded f32 root.
exact = torch.from_numpy(np.sqrt(x.numpy().astype(np.float64)).astype(np.float32))
differ = (x.sqrt() != exact).sum().item()
print(f"torch {torch.__version__}: {differ:,} of {x.numel():,} float32 square roots differ")
