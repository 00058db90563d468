#!/usr/bin/env bash
# The GPU figures of docs/PERFORMANCE.md in one run, on a machine with a hardware GPU, PyTorch with
# CUDA and a Vulkan driver: Stepwise's fused optimizer steps; ResNet-18 and ResNet-50 training steps
# at batch 32 and 128 on burn-wgpu (Vulkan) with the fused optimizers, beside PyTorch eager on CUDA
# with its defaults (phase split and steady rate, both sides measured the same way); the main job
# beside its PyTorch twin; and the study's experiment 1 at full scale projected from ResNet-50's
# steady rate.
#
#   crates/cli/benches/gpu_check.sh pack        here, on the build machine: release binaries of the
#                                               CLI and the benchmarks, stripped and compressed,
#                                               and the adabound wheel, into .gpu/ (git-ignored)
#   crates/cli/benches/gpu_check.sh run OUT     there, from the repository root (with .gpu/):
#                                               every figure, logs and a summary in OUT
#
# Built for the build machine's CPU (x86-64-v3, .cargo/config.toml); the GPU machine must be
# x86-64 too. The tuning cache of burn's autotune is kept in OUT/tuning, so a second run on the
# same machine skips tuning.
set -euo pipefail
cd "$(dirname "$0")/../../.."
pack=.gpu

newest_bench() { # the newest executable of a bench target
  ls -t target/release/deps/"$1"-* | grep -v '\.d$' | head -n 1
}

case "${1:-}" in
pack)
  grep -qxF "/$pack/" .git/info/exclude 2>/dev/null || echo "/$pack/" >>.git/info/exclude
  rm -rf "$pack" && mkdir -p "$pack/whl"
  cargo build --release --locked -p stepwise-cli
  cargo bench --locked -p stepwise-model --bench throughput --no-run
  cargo bench --locked -p stepwise-gpu --bench step --no-run
  cp target/release/stepwise "$pack/stepwise"
  cp "$(newest_bench throughput)" "$pack/throughput"
  cp "$(newest_bench step)" "$pack/step"
  strip "$pack/stepwise" "$pack/throughput" "$pack/step"
  xz -T0 -6 "$pack/stepwise" "$pack/throughput" "$pack/step"
  python3 -m pip download --no-deps --only-binary=:all: -d "$pack/whl" adabound==0.0.5
  du -sh "$pack"
  ;;
run)
  out=${2:?"usage: $0 run OUT"}
  mkdir -p "$out"
  for f in "$pack"/*.xz; do xz -dkf "$f"; chmod +x "${f%.xz}"; done
  python3 -m pip install -q --no-index --no-deps --target /tmp/stepwise-site "$pack"/whl/*.whl
  export PYTHONPATH=/tmp/stepwise-site${PYTHONPATH:+:$PYTHONPATH}
  export STEPWISE_TUNING_DIR="$out/tuning"
  log() { echo "== $*" | tee -a "$out/summary.txt"; }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())' \
    | tee -a "$out/gpu.txt"

  log "fused optimizer steps (23,520,842 parameters)"
  "$pack/step" --bench --warm-up-time 1 --measurement-time 3 2>&1 | tee "$out/step.txt" \
    | grep -E "time:|^[a-z]" | tee -a "$out/summary.txt"

  for arch in resnet18 resnet50; do
    for batch in 32 128; do
      log "$arch, batch $batch: burn-wgpu, fused Adam"
      "$pack/throughput" "$arch" 30 gpu "$batch" 2>&1 | tee "$out/burn-$arch-$batch.txt" \
        | grep -vE "^input" | tee -a "$out/summary.txt"
      log "$arch, batch $batch: PyTorch eager, CUDA, torch.optim.Adam"
      python3 crates/model/benches/torch_train.py "$arch" 30 cuda "$batch" 2>&1 \
        | tee "$out/torch-$arch-$batch.txt" | tee -a "$out/summary.txt"
    done
  done

  log "main job (seed-optimizers --quick) beside PyTorch"
  python3 crates/cli/benches/main_job.py --stepwise "$pack/stepwise" --device gpu \
    --keep "$out/main-job" 2>&1 | tee -a "$out/summary.txt"

  log "experiment 1 at full scale (5 runs x 50 epochs x 1,563 steps of ResNet-50 at batch 32)"
  python3 - "$out" <<'EOF' | tee -a "$out/summary.txt"
import re, sys
steps = 5 * 50 * 1563
for side, name in (("burn", "Stepwise"), ("torch", "PyTorch")):
    text = open(f"{sys.argv[1]}/{side}-resnet50-32.txt").read()
    rate = float(re.search(r"steady resnet50: ([0-9.]+) steps/s", text).group(1))
    print(f"{name}: {rate:.2f} steps/s -> {steps / rate / 3600:.1f} h of training steps")
EOF
  ;;
*)
  sed -n '2,18p' "$0"
  exit 2
  ;;
esac
