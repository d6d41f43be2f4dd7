#!/usr/bin/env bash
# The main job: set up, build, then measure the efficient-architecture table
# on this machine (`ecoinfer compare`: BERT, ResNet-50, MobileNetV3,
# DistilBERT and the real PaddleOCR models; docs/COMPARE.md) and show it.
# The table is also in build/compare/report.json and report.html.
# Extra arguments go to compare, e.g. scripts/main.sh --quick --region FR
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/ecoinfer compare --out build/compare "$@"
