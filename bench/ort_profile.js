#!/usr/bin/env node
// ort_profile.js: ONNX Runtime's side of a node-by-node comparison with
// `ecoinfer bench MODEL --profile --json`. Runs the model in
// onnxruntime-node with enableProfiling (the CPU EP, graph optimization
// 'all', so ORT's own fusions show under their names: FusedMatMul,
// MatMulIntegerToFloat...), and prints per node, in execution order, the
// median kernel time over the timed runs, then the sum per op type:
//
//   node bench/ort_profile.js MODEL --shape input_ids=1x128 --shape attention_mask=1x128 [--threads 1] [--runs 20] [--fill attention_mask=1] [--json]
//
// Inputs as bench/ort_bench.js makes them (floats in [-1, 1), integers in
// [0, 100)); --fill NAME=V sets one input to V everywhere (a real attention
// mask is 1 and 0, not 0..99: see docs/PERFORMANCE.md, "Transformers
// against ORT, block by block"). Profiling adds a little time per node; compare shares and
// blocks, not the total with an unprofiled run.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function usage(why) {
  process.stderr.write(`ort_profile: ${why}\n` +
    'usage: node bench/ort_profile.js MODEL --shape NAME=DxD.. [--shape ...] [--threads N] [--runs K] [--fill NAME=V] [--json]\n');
  process.exit(1);
}

function parseArgs(argv) {
  const o = { model: null, shapes: [], threads: 1, runs: 20, json: false, fill: {} };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--shape' && i + 1 < argv.length) o.shapes.push('--shape', argv[++i]);
    else if (a === '--threads' && i + 1 < argv.length) o.threads = Number(argv[++i]);
    else if (a === '--runs' && i + 1 < argv.length) o.runs = Number(argv[++i]);
    else if (a === '--fill' && i + 1 < argv.length) {
      const [name, value] = argv[++i].split('=');
      o.fill[name] = Number(value);
    } else if (a === '--json') o.json = true;
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.model === null) o.model = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.model) usage('missing MODEL');
  if (!(o.threads >= 1 && o.runs >= 1)) usage('--threads and --runs must be >= 1');
  return o;
}

function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(s.length / 2) - 1)];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));
  // Inputs from ort_bench.js's LCG, so both scripts feed the same values.
  const shapes = {};
  for (let i = 1; i < o.shapes.length; i += 2) {
    const [name, dims] = o.shapes[i].split('=');
    shapes[name] = dims.split('x').map(Number);
  }
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-')), 'profile');
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix,
  });
  const feeds = {};
  for (const name of session.inputNames) {
    if (!shapes[name]) usage(`input '${name}' needs --shape ${name}=DIMS`);
    const meta = (session.inputMetadata || []).find((m) => m.name === name);
    const type = meta && meta.type ? meta.type : 'float32';
    const n = shapes[name].reduce((a, b) => a * b, 1);
    let s = 42;
    const next = () => (s = (s * 1664525 + 1013904223) >>> 0);
    const fill = o.fill[name];
    let data;
    if (type === 'int64') data = BigInt64Array.from({ length: n }, () => BigInt(fill !== undefined ? fill : next() % 100));
    else if (type === 'int32') data = Int32Array.from({ length: n }, () => (fill !== undefined ? fill : next() % 100));
    else data = Float32Array.from({ length: n }, () => (fill !== undefined ? fill : next() / 2147483648 - 1));
    feeds[name] = new ort.Tensor(type === 'int64' || type === 'int32' ? type : 'float32', data, shapes[name]);
  }
  const warmup = 3;
  for (let i = 0; i < warmup + o.runs; ++i) await session.run(feeds);
  await session.release();  // writes the profile
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith('.json'));
  if (!file) usage('ONNX Runtime wrote no profile');
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const order = [];
  const times = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    if (!times.has(node)) {
      times.set(node, []);
      order.push({ node, op_type: e.args.op_name });
    }
    times.get(node).push(e.dur);
  }
  // The first `warmup` occurrences of each node are the warm-up runs.
  const nodes = order.map(({ node, op_type }) => ({ node, op_type, us: median(times.get(node).slice(warmup)) }));
  const byOp = {};
  for (const n of nodes) byOp[n.op_type] = (byOp[n.op_type] || 0) + n.us;
  const total = nodes.reduce((a, n) => a + n.us, 0);
  if (o.json) {
    process.stdout.write(JSON.stringify({ model: o.model, threads: o.threads, runs: o.runs, total_us: total, op_types: byOp, nodes }) + '\n');
    return;
  }
  for (const n of nodes) process.stdout.write(`${n.us.toFixed(0).padStart(8)} us  ${n.op_type.padEnd(24)} ${n.node}\n`);
  process.stdout.write(`\nsum of nodes ${(total / 1000).toFixed(3)} ms\n`);
  for (const [op, us] of Object.entries(byOp).sort((a, b) => b[1] - a[1])) {
    process.stdout.write(`${(us / 1000).toFixed(3).padStart(9)} ms  ${(100 * us / total).toFixed(1).padStart(5)}%  ${op}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`ort_profile: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
