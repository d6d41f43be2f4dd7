#!/usr/bin/env node
// ort_bench.js: the ONNX Runtime side of bench/compare-ort. Loads one model in
// onnxruntime-node (CPU execution provider), warms up, times K runs and prints
// one JSON object:
//   {"p50_ms", "mean_ms", "min_ms", "load_seconds", "peak_rss_bytes",
//    "baseline_rss_bytes", "threads", "iters", "warmup", "ort_version", ...}
// peak_rss_bytes is process.resourceUsage().maxRSS (KiB) * 1024 at the end:
// the whole node process. baseline_rss_bytes is the same figure taken after
// node and the onnxruntime binding are loaded but before the model is, so
// peak_rss_bytes - baseline_rss_bytes approximates what the model costs.
//
//   node bench/ort_bench.js models/m.onnx --shape x=1x3x48x320 --threads 1 --warmup 5 --iters 20
//
// Inputs have the model's element type and the given shape, as ecoinfer bench
// makes them: float32 in [-1, 1), int64 and int32 in [0, 100) (token ids and
// masks of the transformers; the values do not matter for these models'
// timing).
'use strict';

const path = require('path');

function usage(why) {
  process.stderr.write(`ort_bench: ${why}\n` +
    'usage: node bench/ort_bench.js MODEL --shape NAME=DxDx.. [--shape ...] [--threads N] [--warmup W] [--iters K] [--fill NAME=V]\n');
  process.exit(1);
}

function parseArgs(argv) {
  const o = { model: null, shapes: {}, threads: 1, warmup: 5, iters: 20, fill: {} };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`missing value after ${a}`);
      return argv[++i];
    };
    if (a === '--shape') {
      const [name, dims] = value().split('=');
      if (!name || !dims) usage('--shape wants NAME=DIMS, e.g. x=1x3x48x320');
      o.shapes[name] = dims.split('x').map(Number);
      if (o.shapes[name].some((d) => !Number.isInteger(d) || d <= 0)) usage(`bad dimensions in --shape ${name}=${dims}`);
    } else if (a === '--fill') {
      const [name, v] = value().split('=');
      o.fill[name] = Number(v);  // as ecoinfer bench --fill: that input holds v everywhere
    } else if (a === '--threads') o.threads = Number(value());
    else if (a === '--warmup') o.warmup = Number(value());
    else if (a === '--iters') o.iters = Number(value());
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.model === null) o.model = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.model) usage('missing MODEL');
  if (!(o.threads >= 1 && o.warmup >= 1 && o.iters >= 1)) usage('--threads, --warmup and --iters must be >= 1');
  return o;
}

function loadOrt() {
  // The oracle lives in the project's node_modules (scripts/setup.sh), never
  // in ecoinfer itself; look there first, then the usual resolution.
  const candidates = [path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'), 'onnxruntime-node'];
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  usage('onnxruntime-node is not installed: run scripts/setup.sh');
}

// The input's element type as the model declares it (float32 when the
// metadata does not say).
function inputType(session, name) {
  const meta = (session.inputMetadata || []).find((m) => m.name === name);
  return meta && meta.isTensor && meta.type ? meta.type : 'float32';
}

// Deterministic values as ecoinfer bench makes them: floats in [-1, 1),
// integers in [0, 100) (token ids for the transformers), by a small LCG.
function randomTensor(ort, name, type, dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  let s = 42;
  const next = () => (s = (s * 1664525 + 1013904223) >>> 0);
  const fill = (TypedArray, value) => {
    const data = new TypedArray(n);
    for (let i = 0; i < n; ++i) data[i] = value(next());
    return data;
  };
  switch (type) {
    case 'float32': return new ort.Tensor(type, fill(Float32Array, (r) => r / 2147483648 - 1), dims);
    case 'int64': return new ort.Tensor(type, fill(BigInt64Array, (r) => BigInt(r % 100)), dims);
    case 'int32': return new ort.Tensor(type, fill(Int32Array, (r) => r % 100), dims);
    default: return usage(`input '${name}' is ${type}: ort_bench makes float32, int64 and int32 inputs only`);
  }
}

function median(sorted) {
  return sorted[Math.max(0, Math.ceil(sorted.length / 2) - 1)];  // nearest rank, as ecoinfer bench
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const baselineRss = process.resourceUsage().maxRSS * 1024;

  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  const feeds = {};
  for (const name of session.inputNames) {
    if (!o.shapes[name]) usage(`input '${name}' needs --shape ${name}=DIMS`);
    feeds[name] = randomTensor(ort, name, inputType(session, name), o.shapes[name]);
    if (o.fill[name] !== undefined) {
      const d = feeds[name].data;
      d.fill(typeof d[0] === 'bigint' ? BigInt(o.fill[name]) : o.fill[name]);
    }
  }
  for (let i = 0; i < o.warmup; ++i) await session.run(feeds);
  const samples = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < o.iters; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  // The whole process's CPU time (user + system) over the timed runs: on a
  // shared machine steadier than wall time, which includes waiting for a core.
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = samples.slice().sort((a, b) => a - b);
  const result = {
    engine: 'onnxruntime-node',
    ort_version: (ort.env && ort.env.versions && ort.env.versions.common) || require('onnxruntime-node/package.json').version,
    model: o.model,
    shapes: Object.entries(o.shapes).map(([k, v]) => `${k}=${v.join('x')}`).join(' '),
    threads: o.threads,
    warmup: o.warmup,
    iters: o.iters,
    load_seconds: loadSeconds,
    p50_ms: median(sorted),
    mean_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
    min_ms: sorted[0],
    cpu_ms_per_run: (cpu.user + cpu.system) / 1000 / o.iters,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    baseline_rss_bytes: baselineRss,
  };
  await session.release();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
