#!/usr/bin/env node
// ort-save-optimized.js: loads MODEL in ONNX Runtime 1.30 (CPU provider) and
// saves the graph ORT runs after its own optimizations to OUT. On a QDQ
// model ORT's CPU provider fuses DequantizeLinear -> Conv/MatMul ->
// QuantizeLinear into QLinearConv/QLinearMatMul (and, at level "all",
// com.microsoft contrib ops such as QLinearAdd): a real "QOperator" file,
// as a tool other than ecoinfer writes it.
//
//   node scripts/ort-save-optimized.js cls.int8.onnx cls.qop.onnx [basic|extended|all]
'use strict';

const path = require('path');

async function main() {
  const [model, out, level = 'extended'] = process.argv.slice(2);
  if (!model || !out || !['basic', 'extended', 'all'].includes(level)) {
    process.stderr.write('usage: node scripts/ort-save-optimized.js MODEL OUT [basic|extended|all]\n');
    process.exit(2);
  }
  const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));
  await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: level,
    optimizedModelFilePath: out,
  });
}

main().catch((e) => {
  process.stderr.write(`ort-save-optimized: ${e.message}\n`);
  process.exit(1);
});
