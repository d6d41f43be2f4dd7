#!/usr/bin/env bash
# Configures and builds ecoinfer into build/ (Release), or build-asan/ with
# AddressSanitizer and UndefinedBehaviorSanitizer when given "asan".
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache makes rebuilding unchanged sources (a fresh clone, a second build
# folder) cache hits; paths are made relative to the checkout so clones in
# other folders hit the same entries.
LAUNCHER=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1  # the sanitizer build has -g
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [[ "${1:-}" == "asan" ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECOINFER_SANITIZE=ON "${LAUNCHER[@]}" >/dev/null
  cmake --build build-asan
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${LAUNCHER[@]}" >/dev/null
  cmake --build build
fi
