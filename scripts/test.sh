#!/usr/bin/env bash
# Sets up a fresh machine, builds, and runs every test: the Release build,
# the installed-package check (find_package(ecoinfer)), then the whole suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== build (Release)"
scripts/build.sh
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j2 --timeout 900

echo "== install and use through find_package(ecoinfer)"
rm -rf build/install build/hello
cmake --install build --prefix build/install >/dev/null
cmake -S examples/hello -B build/hello -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null
cmake --build build/hello >/dev/null
build/hello/hello models/ch_ppocr_mobile_v2.0_cls_infer.onnx 1 3 48 192

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
scripts/build.sh asan
echo "== tests (sanitizers)"
# oneDNN's JIT and libgomp keep process-lifetime allocations: leaks are not
# checked, every other ASan/UBSan error fails the run.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 1800
echo "== all tests passed"
