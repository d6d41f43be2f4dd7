# Server overhead for rec at concurrency 1 (issue 6: end-to-end minus compute
# at most 5% of latency). A keep-alive raw-socket client sends a 1x3x48x320
# FP32 tensor (184 kB) as binary data and asks for the 1.06 MB output as
# binary; its latency is compared with the server's compute time over the
# same requests, two ways: per request (the response's compute_seconds
# parameter; the median of latency - compute is robust on a shared machine)
# and as means (ecoinfer_compute_duration_seconds deltas from /metrics).
#
#   python3 bench/serve_rec_overhead.py PORT [N] [--model rec] [--cache-model rec_cache] [--shm | --mode both]
#
# --shm: input and output in POSIX shared memory (Triton's system shared
# memory extension; the server and this client on one host): the client
# writes the input into its segment before each request (its equivalent of
# sending it) and the server writes the output there; only small JSON
# crosses the socket. The output is not copied out again (a client reads it
# in place, as numpy.frombuffer would). --mode both alternates binary and
# shared-memory requests one by one on the same connection and reports both.
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
parser.add_argument('--mode', choices=['binary', 'shm', 'both'], default='binary',
                    help='tensors as binary data in the HTTP body, in shared memory, or alternating both')
parser.add_argument('--shm', dest='mode', action='store_const', const='shm', help='the same as --mode shm')
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


OUTPUT_BYTES = 8 << 20  # room for rec's 1.06 MB output at any width up to ~7.5x the default


class SharedMemoryTensors:
    """Input and output segments registered with the server; unregistered and unlinked on close."""

    def __init__(self):
        from multiprocessing import shared_memory
        self.input = shared_memory.SharedMemory(create=True, size=len(raw))
        self.output = shared_memory.SharedMemory(create=True, size=OUTPUT_BYTES)
        for region, segment in (('bench_in', self.input), ('bench_out', self.output)):
            self.post(f'/v2/systemsharedmemory/region/{region}/unregister', {})
            self.post(f'/v2/systemsharedmemory/region/{region}/register',
                      {'key': '/' + segment.name, 'offset': 0, 'byte_size': segment.size})
        body = json.dumps({'inputs': [{'name': 'x', 'shape': [1, 3, 48, 320], 'datatype': 'FP32',
                                       'parameters': {'shared_memory_region': 'bench_in',
                                                      'shared_memory_byte_size': len(raw)}}],
                           'outputs': [{'name': 'softmax_11.tmp_0',
                                        'parameters': {'shared_memory_region': 'bench_out',
                                                       'shared_memory_byte_size': OUTPUT_BYTES}}]}).encode()
        self.request = (f'POST /v2/models/{args.model}/infer HTTP/1.1\r\nHost: x\r\n'
                        f'Content-Length: {len(body)}\r\n\r\n').encode() + body

    def post(self, path, body):
        req = urllib.request.Request(f'http://127.0.0.1:{args.port}{path}', data=json.dumps(body).encode(), method='POST')
        urllib.request.urlopen(req).read()

    def write_input(self):
        self.input.buf[:len(raw)] = raw

    def close(self):
        for region in ('bench_in', 'bench_out'): self.post(f'/v2/systemsharedmemory/region/{region}/unregister', {})
        for segment in (self.input, self.output):
            segment.close()
            segment.unlink()


sock = socket.create_connection(('127.0.0.1', args.port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = bytearray(8 << 20)
view = memoryview(buf)


def one(req, before_send=None):
    start = time.perf_counter()
    if before_send: before_send()
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
    json_end = end + 4 + (int(json_length[0].split(':')[1]) if json_length else length)
    params = json.loads(bytes(buf[end + 4:json_end])).get('parameters', {})
    return elapsed, params.get('compute_seconds')


def summary(runs, prefix=''):
    out = {prefix + 'client_p50_ms': statistics.median(l for l, _ in runs) * 1e3}
    if all(c is not None for _, c in runs):  # servers that report compute_seconds per response
        out[prefix + 'overhead_p50_ms'] = statistics.median(l - c for l, c in runs) * 1e3
        out[prefix + 'overhead_p50_percent'] = statistics.median((l - c) / l for l, c in runs) * 100
    return out


req = request_bytes(args.model)
shm = SharedMemoryTensors() if args.mode != 'binary' else None
modes = {'binary': [('', req, None)], 'shm': [('', shm and shm.request, shm and shm.write_input)],
         'both': [('', req, None), ('shm_', shm and shm.request, shm and shm.write_input)]}[args.mode]
for _, r, prepare in modes: one(r, prepare); one(r, prepare)
before = compute_metric(args.model)
runs = {prefix: [] for prefix, _, _ in modes}
for i in range(args.n):
    for prefix, r, prepare in modes: runs[prefix].append(one(r, prepare))
after = compute_metric(args.model)
lat = [latency for latency, _ in runs['']]
compute = (after['sum'] - before['sum']) / (after['count'] - before['count'])
mean = statistics.mean(lat)
result = {'model': args.model, 'n': args.n, 'mode': args.mode, 'client_mean_ms': mean * 1e3,
          'compute_mean_ms': compute * 1e3, 'overhead_ms': (mean - compute) * 1e3,
          'overhead_percent': (mean - compute) / mean * 100}
for prefix, _, _ in modes: result.update(summary(runs[prefix], prefix))
if shm: shm.close()
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
    if 'shm_overhead_p50_ms' in result:
        line += (f"; shared memory (alternating): client p50 {result['shm_client_p50_ms']:.2f} ms, overhead p50 "
                 f"{result['shm_overhead_p50_ms']:.3f} ms = {result['shm_overhead_p50_percent']:.1f}%")
    if args.cache_model: line += f"; cache hit p50 {result['cache_hit_p50_ms']:.3f} ms"
    print(line)
