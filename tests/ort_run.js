#!/usr/bin/env node
// ort_run.js: runs a model once in ONNX Runtime 1.30 (onnxruntime-node, the
// tests' oracle) on inputs given as .npy files and writes each output as
// OUT_DIR/<output>.npy, the name sanitized as `ecoinfer run` does. The zoo,
// quantization and QDQ fusion tests drive it to compare ecoinfer with ORT.
//
//   node tests/ort_run.js MODEL.onnx OUT_DIR NAME=FILE.npy [NAME=FILE.npy...]
//
// Inputs: float32 ('<f4') and int64 ('<i8'), NumPy format 1.0. Outputs: float32.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.resolve(__dirname, '..', 'node_modules', 'onnxruntime-node'));

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const copy = new Uint8Array(buf.subarray(10 + headerLen)).buffer;  // aligned for the typed arrays
  if (descr === '<f4') return new ort.Tensor('float32', new Float32Array(copy), shape);
  if (descr === '<i8') return new ort.Tensor('int64', new BigInt64Array(copy), shape);
  throw new Error(`${file}: unsupported dtype ${descr} (float32 and int64 are)`);
}

function writeNpy(file, tensor) {
  if (tensor.type !== 'float32') throw new Error(`output type ${tensor.type} is not supported (float32 is)`);
  const dims = tensor.dims.map(Number);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
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
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    writeNpy(path.join(outDir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy'), results[name]);
  }
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
