# The transport floor under bench/serve_rec_overhead.py: a server that does
# nothing (reads the rec request's bytes, answers a ready-made response of
# rec's size) and the same kind of Python raw-socket client, over loopback
# TCP, with the same socket options as ecoinfer serve (TCP_NODELAY, 4 MB send
# buffer). Its latency is what moving 184 kB in and 1.06 MB out costs the two
# kernels and the client alone; a real server's overhead cannot go below it.
#
#   python3 bench/loopback_floor.py [N] [--json]
import json, os, socket, statistics, sys, time

REQUEST_BYTES = 3 * 48 * 320 * 4 + 400     # the tensor + HTTP header and JSON, about
RESPONSE_BYTES = 40 * 6625 * 4 + 400       # rec's output + HTTP header and JSON, about
PAUSE_S = 0.01                             # between requests (untimed), as a model's compute would
                                           # separate them: both sides fall asleep in between
n = int(next((a for a in sys.argv[1:] if a.isdigit()), 100))

listener = socket.socket()
listener.bind(('127.0.0.1', 0))
listener.listen(1)
if os.fork() == 0:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    request, response = bytearray(REQUEST_BYTES), bytes(RESPONSE_BYTES)
    view = memoryview(request)
    while True:
        got = 0
        while got < REQUEST_BYTES:
            k = conn.recv_into(view[got:])
            if k == 0: os._exit(0)
            got += k
        conn.sendall(response)

client = socket.create_connection(listener.getsockname())
client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
request, buf = bytes(REQUEST_BYTES), bytearray(8 << 20)
view = memoryview(buf)
latency = []
for _ in range(n + 3):
    start = time.perf_counter()
    client.sendall(request)
    got = 0
    while got < RESPONSE_BYTES: got += client.recv_into(view[got:])
    latency.append(time.perf_counter() - start)
    time.sleep(PAUSE_S)
client.close()
os.wait()
latency = latency[3:]
result = {'n': n, 'floor_p50_ms': statistics.median(latency) * 1e3, 'floor_mean_ms': statistics.mean(latency) * 1e3}
if '--json' in sys.argv: print(json.dumps(result))
else: print(f"null server, {REQUEST_BYTES} B in, {RESPONSE_BYTES} B out over loopback: p50 {result['floor_p50_ms']:.3f} ms, "
            f"mean {result['floor_mean_ms']:.3f} ms (the floor of a server's overhead)")
