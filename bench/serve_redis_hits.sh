#!/usr/bin/env bash
# Response-cache hits served from Redis (local LRU off: --cache-bytes 0), at
# concurrency 1 and 8, for two ecoinfer binaries alternated round by round
# (e.g. before and after the Redis connection pool). Short runs: the machine
# is shared. Prints one line per binary, round and level: p50/p90 us, req/s.
#
#   bench/serve_redis_hits.sh BIN_A BIN_B [ROUNDS] [DURATION_S] [IO_THREADS]
set -euo pipefail
a=${1:?usage: serve_redis_hits.sh BIN_A BIN_B [ROUNDS] [DURATION_S] [IO_THREADS]}
b=${2:?usage: serve_redis_hits.sh BIN_A BIN_B [ROUNDS] [DURATION_S] [IO_THREADS]}
rounds=${3:-3}
duration=${4:-3}
io_threads=${5:-2}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/repo/cls_cache/1"
cp models/ch_ppocr_mobile_v2.0_cls_infer.onnx "$work/repo/cls_cache/1/model.onnx"
echo '{"max_batch_size": 8, "response_cache": true}' > "$work/repo/cls_cache/config.json"
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
sleep 0.5

run() {  # BIN LABEL ROUND
  redis-cli -p "$redis_port" flushall >/dev/null
  "$1" serve --model-repository "$work/repo" --http-port 0 --http-address 127.0.0.1 --threads 1 \
    --io-threads "$io_threads" --cache-bytes 0 --redis "redis://127.0.0.1:$redis_port" > "$work/serve.out" 2>/dev/null &
  local pid=$!
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.out")
    [[ -n $port ]] && break
    sleep 0.1
  done
  "$1" loadgen --url "http://127.0.0.1:$port" --model cls_cache --shape x=1x3x48x192 --concurrency 1,8 \
    --duration "$duration" --binary --distinct-inputs 16 --json > "$work/report.json"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$work/report.json" "$2" "$3" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for level in report["levels"]:
    lat = level["latency_ms"]
    print(f'{sys.argv[2]} round {sys.argv[3]} c={level["concurrency"]}: p50 {lat["p50"]*1000:.0f} us, '
          f'p90 {lat["p90"]*1000:.0f} us, {level["throughput_infer_per_s"]:.0f} req/s, '
          f'hits {level["server"].get("cache_hits")}, errors {level["errors"]}')
PY
}

for r in $(seq "$rounds"); do
  run "$a" A "$r"
  run "$b" B "$r"
done
