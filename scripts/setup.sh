#!/usr/bin/env bash
# Installs everything ecoinfer needs on a fresh Debian bookworm machine.
# Idempotent: a second run only checks and returns quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev                       # oneDNN: conv, matmul (fp32, bf16, int8)
  libprotobuf-dev protobuf-compiler libonnx-dev   # ONNX protobuf schema
  libfmt-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-testdata                  # ONNX backend node tests (conformance)
  libopencv-imgproc-dev libopencv-imgcodecs-dev   # OCR app: image decode and geometry
  libboost-dev                      # serve: Boost.Asio/Beast async HTTP
  libhiredis-dev libzstd-dev libxxhash-dev   # serve cache: Redis, compression, hashing; stage cache
  redis-server curl                 # tests: a real Redis, a real HTTP client
  ccache                            # rebuilds reuse unchanged objects (scripts/build.sh)
  imagemagick fonts-dejavu-core     # tests: the OCR corpus is rendered at test time (tests/apps/make_ocr_corpus.sh)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm run the ONNX Runtime oracle (tests, benchmarks only); the
# machine image may carry its own Node, which conflicts with Debian's.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime (test and benchmark oracle only). Its install script downloads
# GPU binaries this network refuses; the CPU library ships inside the package.
if [[ ! -f node_modules/onnxruntime-node/package.json ]]; then
  echo "setup: installing npm packages"
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

scripts/fetch-models.sh
