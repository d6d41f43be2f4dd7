#!/usr/bin/env bash
# Renders the OCR test corpus with ImageMagick and Debian's DejaVu fonts:
# text lines drawn from a fixed word list by a fixed-seed generator (the
# same corpus every time, picked by no one), in four faces and three sizes;
# every third image holds three lines, every fifth is turned 180 degrees.
# Beside each image.png, image.txt holds its lines (the ground truth), and
# blank-N.png images hold no text at all (empty .txt).
#
#   tests/apps/make_ocr_corpus.sh OUT_DIR [LINES]    # LINES: at least this many (default 100)
#
# OCR_CORPUS_WORDS (a file of words, whitespace-separated) and OCR_CORPUS_SEED
# replace the word list and the seed: make_ocr_calibration.sh renders other
# text that way, so calibration and evaluation data differ.
#
# Needs: imagemagick, fonts-dejavu-core (scripts/setup.sh installs both).
set -euo pipefail
out=${1:?usage: make_ocr_corpus.sh OUT_DIR [LINES]}
want=${2:-100}
mkdir -p "$out"
convert=/usr/bin/convert
[[ -x $convert ]] || convert=convert

words=(energy model tensor engine pipeline server carbon joule watt batch cache stage image text
       line green river stone paper light north winter summer garden market window coffee
       orange silver yellow purple planet rocket signal number letter reader writer
       Paris Berlin Tokyo London Monday Friday April October Data Cloud Linux
       2026 1984 42 365 7 100 314 2048 90 15)
if [[ -n ${OCR_CORPUS_WORDS:-} ]]; then
  read -r -d '' -a words <"$OCR_CORPUS_WORDS" || true
fi
faces=(DejaVu-Sans DejaVu-Serif DejaVu-Sans-Mono DejaVu-Sans-Bold)
sizes=(26 34 46)   # points at 72 dpi: about 19, 25 and 34 pixel capital height

seed=${OCR_CORPUS_SEED:-20261122}
next() {  # r = a pseudo-random number below $1 (an LCG: the same corpus everywhere)
  seed=$(((seed * 1103515245 + 12345) % 2147483648))
  r=$(((seed / 65536) % $1))
}
make_line() {
  next 3
  local n=$((r + 2)) k
  text=""
  for ((k = 0; k < n; k++)); do
    next ${#words[@]}
    text+="${text:+ }${words[r]}"
  done
}

lines=0
i=0
while ((lines < want)); do
  name=$(printf "%s/img-%03d" "$out" "$i")
  face=${faces[i % ${#faces[@]}]}
  size=${sizes[(i / ${#faces[@]}) % ${#sizes[@]}]}
  count=1
  ((i % 3 == 2)) && count=3
  body=""
  : >"$name.txt"
  for ((l = 0; l < count; l++)); do
    make_line
    body+="${body:+$'\n'}$text"
    echo "$text" >>"$name.txt"
  done
  rotate=()
  ((i % 5 == 4)) && rotate=(-rotate 180)
  "$convert" -background white -fill black -font "$face" -pointsize "$size" -interline-spacing $((size / 2)) \
    label:"$body" -bordercolor white -border 40x30 "${rotate[@]}" "$name.png"
  lines=$((lines + count))
  i=$((i + 1))
done
for b in 0 1; do
  "$convert" -size $((320 + 200 * b))x$((160 + 80 * b)) xc:white "$out/blank-$b.png"
  : >"$out/blank-$b.txt"
done
echo "$lines lines in $i images, 2 blank images: $out"
