#!/usr/bin/env node
// ort_run.js: runs one ONNX model in ONNX Runtime (onnxruntime-node) on
// inputs given as .npy files and writes each output as OUT_DIR/<name>.npy.
// zoo_test.cc drives it to check ecoinfer against ORT on the zoo models.
//
//   node tests/zoo/ort_run.js MODEL.onnx OUT_DIR NAME=FILE.npy [NAME=FILE.npy...]
//
// Supports float32 ('<f4') and int64 ('<i8') arrays, NumPy format 1.0.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.resolve(__dirname, '..', '..', 'node_modules', 'onnxruntime-node'));

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const body = buf.subarray(10 + headerLen);
  const copy = new Uint8Array(body).buffer;  // aligned
  if (descr === '<f4') return new ort.Tensor('float32', new Float32Array(copy), shape);
  if (descr === '<i8') return new ort.Tensor('int64', new BigInt64Array(copy), shape);
  throw new Error(`${file}: unsupported dtype ${descr}`);
}

function writeNpy(file, tensor) {
  if (tensor.type !== 'float32') throw new Error(`output type ${tensor.type} not supported`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const [model, outDir, ...specs] = process.argv.slice(2);
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
  }
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const results = await session.run(feeds);
  for (const name of session.outputNames) writeNpy(path.join(outDir, `${name}.npy`), results[name]);
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
