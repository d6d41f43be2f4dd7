#!/usr/bin/env node
// ort_run.js: runs a model once in ONNX Runtime (onnxruntime-node, 1 thread)
// on float32 .npy inputs and writes each output as OUTDIR/<output>.npy
// (name sanitized as ecoinfer run does). The quantization tests use it to
// check that the files `ecoinfer quantize` writes load and run in ORT.
//
//   node tests/quant/ort_run.js MODEL.onnx OUTDIR x=input.npy [...]
'use strict';

const fs = require('fs');
const path = require('path');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'<f4'")) throw new Error(`${file}: only float32 .npy is supported`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const start = 10 + headerLen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return { shape, data };
}

function npyBytes(shape, data) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(Float32Array.from(data).buffer)]);
}

async function main() {
  const [model, outDir, ...inputs] = process.argv.slice(2);
  const ort = require(path.resolve(__dirname, '..', '..', 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feeds = {};
  for (const arg of inputs) {
    const eq = arg.indexOf('=');
    const { shape, data } = readNpy(arg.slice(eq + 1));
    feeds[arg.slice(0, eq)] = new ort.Tensor('float32', data, shape);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, t] of Object.entries(results)) {
    const file = path.join(outDir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy');
    fs.writeFileSync(file, npyBytes(t.dims.map(Number), t.data));
  }
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
