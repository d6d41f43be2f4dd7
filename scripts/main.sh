#!/usr/bin/env bash
# The main job: set up, build, then run and benchmark the real PaddleOCR
# recognition model (a later issue replaces this with `ecoinfer compare`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
MODEL=models/ch_PP-OCRv4_rec_infer.onnx
build/ecoinfer info "$MODEL" --shape x=1x3x48x320
echo
build/ecoinfer bench "$MODEL" --shape x=1x3x48x320 --threads 1 --warmup 5 --iters 50
echo
build/ecoinfer bench "$MODEL" --shape x=1x3x48x320 --threads 2 --warmup 5 --iters 50
