#!/usr/bin/env bash
# Renders calibration images for `ecoinfer quantize --pipeline ocr`: the
# same layouts as the test corpus (make_ocr_corpus.sh: DejaVu faces, three
# sizes, multi-line and upside-down images) but from another word list and
# another seed, so no line of the evaluation corpus is calibrated on.
#
#   tests/apps/make_ocr_calibration.sh OUT_DIR [LINES]    # default 60 lines
set -euo pipefail
out=${1:?usage: make_ocr_calibration.sh OUT_DIR [LINES]}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
words=$(mktemp)
trap 'rm -f "$words"' EXIT
# None of these is in the corpus's word list.
cat >"$words" <<'WORDS'
forest valley harbor bridge castle meadow thunder candle marble velvet
copper crystal shadow island canyon desert glacier lantern compass anchor
violet scarlet amber cobalt Madrid Vienna Oslo Cairo Sunday Tuesday March
June Kernel Vector Matrix Python Server 1999 2031 77 128 512 64 256 8 12
voltage current sensor circuit factor memory socket packet router switch
WORDS
OCR_CORPUS_WORDS=$words OCR_CORPUS_SEED=7919 "$here/make_ocr_corpus.sh" "$out" "${2:-60}" >/dev/null
rm -f "$out"/blank-*.png "$out"/blank-*.txt   # a blank page has no text to calibrate rec and cls on
echo "$(ls "$out"/*.png | wc -l) calibration images: $out"
