# Server overhead for rec at concurrency 1 (issue 6: end-to-end minus compute
# at most 5% of latency). A keep-alive raw-socket client sends a 1x3x48x320
# FP32 tensor (184 kB) as binary data and asks for the 1.06 MB output as
# binary; its latency is compared with the server's compute time over the
# same requests, two ways: per request (the response's compute_seconds
# parameter; the median of latency - compute is robust on a shared machine)
# and as means (ecoinfer_compute_duration_seconds deltas from /metrics).
#
#   python3 bench/serve_rec_overhead.py PORT [N] [--model rec] [--cache-model rec_cache]
#
# --cache-model names a model with "response_cache": true serving the same
# ONNX file: the same request is sent once to fill the cache, then N times,
# and the p50 of those hits (no compute at all: HTTP, decoding, cache lookup,
# encoding) is printed too. The client receives into one preallocated buffer
# (recv_into), so its own cost is about the kernel's copy.
import argparse, json, random, socket, statistics, struct, sys, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument('port', type=int)
parser.add_argument('n', type=int, nargs='?', default=40)
parser.add_argument('--model', default='rec')
parser.add_argument('--cache-model', default='')
parser.add_argument('--json', action='store_true', help='one JSON object instead of text')
args = parser.parse_args()


def compute_metric(model):
    text = urllib.request.urlopen(f'http://127.0.0.1:{args.port}/metrics').read().decode()
    vals = {}
    for line in text.splitlines():
        if line.startswith(f'ecoinfer_compute_duration_seconds_sum{{model="{model}"'): vals['sum'] = float(line.split()[-1])
        if line.startswith(f'ecoinfer_compute_duration_seconds_count{{model="{model}"'): vals['count'] = float(line.split()[-1])
    return vals


random.seed(1)
raw = struct.pack('<%df' % (3 * 48 * 320), *[random.uniform(-1, 1) for _ in range(3 * 48 * 320)])
header = json.dumps({'inputs': [{'name': 'x', 'shape': [1, 3, 48, 320], 'datatype': 'FP32',
                                 'parameters': {'binary_data_size': len(raw)}}],
                     'parameters': {'binary_data_output': True}}).encode()


def request_bytes(model):
    body = header + raw
    return (f'POST /v2/models/{model}/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n'
            f'Inference-Header-Content-Length: {len(header)}\r\n\r\n').encode() + body


sock = socket.create_connection(('127.0.0.1', args.port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = bytearray(8 << 20)
view = memoryview(buf)


def one(req):
    start = time.perf_counter()
    sock.sendall(req)
    got, end = 0, -1
    while end < 0:
        k = sock.recv_into(view[got:])
        if k == 0: raise RuntimeError('server closed the connection')
        got += k
        end = buf.find(b'\r\n\r\n', 0, got)
    head = bytes(buf[:end]).decode()
    if not head.startswith('HTTP/1.1 200'): raise RuntimeError(head.splitlines()[0])
    length = int([l for l in head.split('\r\n') if l.lower().startswith('content-length')][0].split(':')[1])
    total = end + 4 + length
    while got < total: got += sock.recv_into(view[got:total])
    elapsed = time.perf_counter() - start
    json_length = [l for l in head.split('\r\n') if l.lower().startswith('inference-header-content-length')]
    params = {}
    if json_length:
        params = json.loads(bytes(buf[end + 4:end + 4 + int(json_length[0].split(':')[1])]))['parameters']
    return elapsed, params.get('compute_seconds')


req = request_bytes(args.model)
one(req); one(req)
before = compute_metric(args.model)
runs = [one(req) for _ in range(args.n)]
after = compute_metric(args.model)
lat = [latency for latency, _ in runs]
compute = (after['sum'] - before['sum']) / (after['count'] - before['count'])
mean = statistics.mean(lat)
result = {'model': args.model, 'n': args.n, 'client_mean_ms': mean * 1e3, 'client_p50_ms': statistics.median(lat) * 1e3,
          'compute_mean_ms': compute * 1e3, 'overhead_ms': (mean - compute) * 1e3,
          'overhead_percent': (mean - compute) / mean * 100}
if all(c is not None for _, c in runs):  # servers that report compute_seconds per response
    result['overhead_p50_ms'] = statistics.median(l - c for l, c in runs) * 1e3
    result['overhead_p50_percent'] = statistics.median((l - c) / l for l, c in runs) * 100
if args.cache_model:
    hit_req = request_bytes(args.cache_model)
    one(hit_req)  # a miss: fills the cache
    hits = [one(hit_req)[0] for _ in range(args.n)]
    result['cache_hit_p50_ms'] = statistics.median(hits) * 1e3
if args.json:
    print(json.dumps(result))
else:
    line = (f"{args.model} c=1 n={args.n}: client mean {result['client_mean_ms']:.2f} ms, p50 {result['client_p50_ms']:.2f} ms; "
            f"server compute mean {result['compute_mean_ms']:.2f} ms; overhead (mean - compute) "
            f"{result['overhead_ms']:.2f} ms = {result['overhead_percent']:.1f}%")
    if 'overhead_p50_ms' in result:
        line += f"; per request: overhead p50 {result['overhead_p50_ms']:.3f} ms = {result['overhead_p50_percent']:.1f}%"
    if args.cache_model: line += f"; cache hit p50 {result['cache_hit_p50_ms']:.3f} ms"
    print(line)
