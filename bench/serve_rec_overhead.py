# Server overhead for rec at concurrency 1: a keep-alive raw-socket client
# (binary tensors in and out), client latency vs the server's compute time
# from /metrics (ecoinfer_compute_duration_seconds deltas).
import socket, json, time, sys, urllib.request, random, struct
port = int(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
def metric():
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics').read().decode()
    vals = {}
    for l in text.splitlines():
        if l.startswith('ecoinfer_compute_duration_seconds_sum{model="rec"'): vals['sum'] = float(l.split()[-1])
        if l.startswith('ecoinfer_compute_duration_seconds_count{model="rec"'): vals['count'] = float(l.split()[-1])
    return vals
shape = [1, 3, 48, 320]
raw = struct.pack('<%df' % (3*48*320), *[random.uniform(-1, 1) for _ in range(3*48*320)])
hdr = json.dumps({'inputs': [{'name': 'x', 'shape': shape, 'datatype': 'FP32', 'parameters': {'binary_data_size': len(raw)}}],
                  'parameters': {'binary_data_output': True}}).encode()
body = hdr + raw
req = (f'POST /v2/models/rec/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n'
       f'Inference-Header-Content-Length: {len(hdr)}\r\n\r\n').encode() + body
s = socket.create_connection(('127.0.0.1', port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def one():
    st = time.perf_counter(); s.sendall(req)
    buf = bytearray()
    while b'\r\n\r\n' not in buf: buf += s.recv(1 << 20)
    h, rest = bytes(buf).split(b'\r\n\r\n', 1)
    cl = int([l for l in h.split(b'\r\n') if l.lower().startswith(b'content-length')][0].split(b':')[1])
    rest = bytearray(rest)
    while len(rest) < cl: rest += s.recv(1 << 20)
    return time.perf_counter() - st
one(); one()
before = metric(); lat = [one() for _ in range(n)]; after = metric()
compute = (after['sum'] - before['sum']) / (after['count'] - before['count'])
mean = sum(lat) / len(lat); lat.sort()
print(f'rec c=1 n={n}: client mean {mean*1e3:.2f} ms, p50 {lat[n//2]*1e3:.2f} ms; server compute mean {compute*1e3:.2f} ms; '
      f'overhead (mean - compute) {(mean-compute)*1e3:.2f} ms = {(mean-compute)/mean*100:.1f}%')
