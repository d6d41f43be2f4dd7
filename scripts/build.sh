#!/usr/bin/env bash
# Configures and builds ecoinfer into build/ (Release), or build-asan/ with
# AddressSanitizer and UndefinedBehaviorSanitizer when given "asan".
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "asan" ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECOINFER_SANITIZE=ON >/dev/null
  cmake --build build-asan
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build
fi
