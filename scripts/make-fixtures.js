#!/usr/bin/env node
// make-fixtures.js: reference outputs of the real PaddleOCR models from
// ONNX Runtime, for ecoinfer's agreement tests (tests/models/real_models_test.cc).
//
// Usage, from the repository root, after scripts/setup.sh and
// scripts/fetch-models.sh:
//
//   node scripts/make-fixtures.js
//
// For each model in models/ and each input shape listed in FIXTURES below it
// synthesizes a deterministic, image-like input (seeded PRNG: a light page
// with dark strokes and rectangles as "text", plus mild noise, normalized the
// way PaddleOCR normalizes pixels), runs ONNX Runtime (onnxruntime-node, one
// intra-op thread, graph optimization level 'all') and writes
//
//   tests/fixtures/ort/<model>/<shape>/x.npy          the input
//   tests/fixtures/ort/<model>/<shape>/<output>.npy   each output (name sanitized)
//   tests/fixtures/ort/manifest.json                  what was made, ranges, gaps
//
// .npy files are NumPy format 1.0, '<f4', C order. For the classifiers (cls,
// rec) the manifest records, per output, the smallest gap between the top-1 and
// top-2 probability over all positions; an input whose gap is <= 1e-3 is
// rejected and regenerated with the next seed, so "same argmax as ORT" is a
// well-posed check. The script is idempotent: it deletes and rewrites
// tests/fixtures/ort/, and the same ORT build gives byte-identical files.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const ROOT = path.resolve(__dirname, '..');
const MODELS = path.join(ROOT, 'models');
const OUT = path.join(ROOT, 'tests', 'fixtures', 'ort');
const MIN_TOP2_GAP = 1e-3;
const MAX_SEED_TRIES = 50;

// Normalizations PaddleOCR applies to 0..1 pixels before each model.
const NORM_HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };  // cls, rec: about [-1, 1]
const NORM_IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };  // det

const FIXTURES = [
  { model: 'ch_ppocr_mobile_v2.0_cls_infer', kind: 'cls', norm: NORM_HALF, shapes: [[1, 3, 48, 192], [2, 3, 48, 192]] },
  { model: 'ch_PP-OCRv4_det_infer', kind: 'det', norm: NORM_IMAGENET, shapes: [[1, 3, 96, 128], [1, 3, 160, 224]] },
  {
    model: 'ch_PP-OCRv4_rec_infer', kind: 'rec', norm: NORM_HALF,
    shapes: [[1, 3, 48, 320], [1, 3, 48, 160], [2, 3, 48, 240]],
  },
];

function requireOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    console.error('make-fixtures: onnxruntime-node is not installed; run scripts/setup.sh (npm install --ignore-scripts)');
    process.exit(1);
  }
}

// mulberry32: small, fast, good enough for test images; a uint32 seed.
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Strokes of simple CJK characters in a unit cell, [x0, y0, x1, y1]; a zero
// extent is drawn with the stroke thickness.
const GLYPHS = [
  [[0.05, 0.5, 0.95, 0.5]],  // 一
  [[0.2, 0.3, 0.8, 0.3], [0.05, 0.75, 0.95, 0.75]],  // 二
  [[0.15, 0.15, 0.85, 0.15], [0.25, 0.5, 0.75, 0.5], [0.05, 0.85, 0.95, 0.85]],  // 三
  [[0.05, 0.45, 0.95, 0.45], [0.47, 0.05, 0.47, 0.95]],  // 十
  [[0.15, 0.15, 0.85, 0.15], [0.15, 0.8, 0.85, 0.8], [0.15, 0.15, 0.15, 0.88], [0.8, 0.15, 0.8, 0.88]],  // 口
  [[0.25, 0.05, 0.75, 0.05], [0.25, 0.5, 0.75, 0.5], [0.25, 0.9, 0.75, 0.9], [0.25, 0.05, 0.25, 0.95],
    [0.72, 0.05, 0.72, 0.95]],  // 日
  [[0.1, 0.1, 0.9, 0.1], [0.1, 0.48, 0.9, 0.48], [0.1, 0.86, 0.9, 0.86], [0.1, 0.1, 0.1, 0.92],
    [0.86, 0.1, 0.86, 0.92], [0.47, 0.1, 0.47, 0.92]],  // 田
  [[0.1, 0.1, 0.9, 0.1], [0.2, 0.48, 0.8, 0.48], [0.05, 0.88, 0.95, 0.88], [0.47, 0.1, 0.47, 0.9]],  // 王
  [[0.15, 0.12, 0.85, 0.12], [0.47, 0.12, 0.47, 0.85], [0.05, 0.85, 0.95, 0.85]],  // 工
  [[0.2, 0.4, 0.8, 0.4], [0.47, 0.05, 0.47, 0.85], [0.05, 0.85, 0.95, 0.85]],  // 土
  [[0.42, 0.05, 0.42, 0.85], [0.42, 0.42, 0.85, 0.42], [0.05, 0.85, 0.95, 0.85]],  // 上
  [[0.1, 0.3, 0.9, 0.3], [0.1, 0.65, 0.9, 0.65], [0.1, 0.3, 0.1, 0.73], [0.86, 0.3, 0.86, 0.73],
    [0.47, 0.02, 0.47, 0.98]],  // 中
  [[0.47, 0.05, 0.47, 0.88], [0.12, 0.35, 0.12, 0.88], [0.85, 0.35, 0.85, 0.88], [0.12, 0.86, 0.9, 0.86]],  // 山
];

// One H x W RGB "page" in 0..1: light background with a slight gradient,
// dark glyph-like strokes along text lines, mild noise.
function drawPage(rng, H, W, kind) {
  const img = [new Float32Array(H * W), new Float32Array(H * W), new Float32Array(H * W)];
  const bg = [0.82 + 0.12 * rng(), 0.82 + 0.12 * rng(), 0.80 + 0.12 * rng()];
  for (let c = 0; c < 3; ++c)
    for (let y = 0; y < H; ++y)
      for (let x = 0; x < W; ++x) img[c][y * W + x] = bg[c] - 0.05 * (y / H) + 0.03 * (x / W);

  const ink = [0.05 + 0.15 * rng(), 0.05 + 0.15 * rng(), 0.08 + 0.15 * rng()];
  const fillRect = (x0, y0, w, h) => {
    const xa = Math.max(0, Math.round(x0)), ya = Math.max(0, Math.round(y0));
    const xb = Math.min(W, Math.round(x0 + w)), yb = Math.min(H, Math.round(y0 + h));
    for (let c = 0; c < 3; ++c)
      for (let y = ya; y < yb; ++y)
        for (let x = xa; x < xb; ++x) img[c][y * W + x] = ink[c];
  };
  // A glyph: one of a few CJK characters made only of straight strokes (so a
  // recognizer sees real text), or now and then random strokes.
  const glyph = (gx, gy, size) => {
    const t = Math.max(2, Math.round(size * (0.08 + 0.04 * rng())));
    const r = rng();
    if (r < 0.85) {
      const g = GLYPHS[Math.floor(rng() * GLYPHS.length)];
      for (const [x0, y0, x1, y1] of g) {
        const w = (x1 - x0) * size, h = (y1 - y0) * size;
        fillRect(gx + x0 * size, gy + y0 * size, Math.max(w, t), Math.max(h, t));
      }
      return;
    }
    const strokes = 2 + Math.floor(rng() * 3);
    for (let s = 0; s < strokes; ++s) {
      if (rng() < 0.5) fillRect(gx + rng() * size * 0.3, gy + rng() * size * 0.9, size * (0.4 + 0.5 * rng()), t);
      else fillRect(gx + rng() * size * 0.9, gy + rng() * size * 0.3, t, size * (0.4 + 0.5 * rng()));
    }
  };
  const textLine = (x0, y0, x1, size) => {
    for (let x = x0; x + size <= x1; x += size * (1.1 + 0.2 * rng())) glyph(x, y0, size);
  };

  if (kind === 'det') {
    // Several text lines of different sizes at random places on the page.
    const lines = 3 + Math.floor(rng() * 3);
    for (let l = 0; l < lines; ++l) {
      const size = 10 + Math.floor(rng() * 10);
      const y0 = rng() * (H - size);
      const x0 = rng() * W * 0.4;
      textLine(x0, y0, Math.min(W, x0 + W * (0.3 + 0.5 * rng())), size);
    }
  } else {
    // A crop of one text line, as the detector hands it to cls / rec.
    const size = Math.round(H * (0.6 + 0.15 * rng()));
    const y0 = (H - size) / 2 + (rng() - 0.5) * 4;
    textLine(2 + rng() * 6, y0, W - 2 - rng() * W * 0.25, size);
  }

  for (let c = 0; c < 3; ++c)
    for (let i = 0; i < H * W; ++i) img[c][i] = Math.min(1, Math.max(0, img[c][i] + (rng() - 0.5) * 0.06));
  return img;
}

function makeInput(shape, kind, norm, seed) {
  const [N, C, H, W] = shape;
  const rng = makeRng(seed);
  const data = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; ++n) {
    const img = drawPage(rng, H, W, kind);
    for (let c = 0; c < C; ++c) {
      const base = (n * C + c) * H * W;
      for (let i = 0; i < H * W; ++i) data[base + i] = (img[c][i] - norm.mean[c]) / norm.std[c];
    }
  }
  return data;
}

// NumPy .npy format 1.0: magic, version, uint16 header length, a Python dict
// literal padded with spaces so the data starts at a multiple of 64, '\n'.
function npyBytes(shape, data) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  const preamble = 10;  // 6 magic + 2 version + 2 length
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - preamble - header.length - 1) + '\n';
  const buf = Buffer.alloc(total + data.length * 4);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf.writeUInt8(1, 6);
  buf.writeUInt8(0, 7);
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, preamble, 'latin1');
  for (let i = 0; i < data.length; ++i) buf.writeFloatLE(data[i], total + i * 4);
  return buf;
}

const sanitize = (name) => name.replace(/[^A-Za-z0-9._-]/g, '_');

function range(data) {
  let min = Infinity, max = -Infinity;
  for (const v of data) { if (v < min) min = v; if (v > max) max = v; }
  return { min, max };
}

// Smallest top-1 minus top-2 value over all positions along the last axis.
function minTop2Gap(data, classes) {
  let gap = Infinity;
  for (let p = 0; p + classes <= data.length; p += classes) {
    let a = -Infinity, b = -Infinity;
    for (let k = 0; k < classes; ++k) {
      const v = data[p + k];
      if (v > a) { b = a; a = v; } else if (v > b) b = v;
    }
    gap = Math.min(gap, a - b);
  }
  return gap;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function main() {
  const ort = requireOrt();
  const ortVersion = (ort.env && ort.env.versions && ort.env.versions.common) || 'unknown';
  for (const f of FIXTURES) {
    if (!fs.existsSync(path.join(MODELS, f.model + '.onnx'))) {
      console.error(`make-fixtures: models/${f.model}.onnx is missing; run scripts/fetch-models.sh first`);
      process.exit(1);
    }
  }
  fs.rmSync(OUT, { recursive: true, force: true });
  const manifest = {
    generator: 'scripts/make-fixtures.js',
    ort_version: ortVersion,
    ort_options: { intraOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] },
    min_top2_gap_required: MIN_TOP2_GAP,
    fixtures: [],
  };

  for (const f of FIXTURES) {
    const modelFile = path.join(MODELS, f.model + '.onnx');
    const session = await ort.InferenceSession.create(modelFile, {
      intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'],
    });
    const inputName = session.inputNames[0];
    const modelSha = sha256(modelFile);
    for (const shape of f.shapes) {
      const shapeName = shape.join('x');
      let chosen = null;
      for (let t = 0; t < MAX_SEED_TRIES && !chosen; ++t) {
        // Seed from the shape, so adding a shape does not change the others.
        const seed = (shape.reduce((h, d) => Math.imul(h ^ d, 0x01000193) >>> 0, 0x811c9dc5) + t) >>> 0;
        const x = makeInput(shape, f.kind, f.norm, seed);
        const results = await session.run({ [inputName]: new ort.Tensor('float32', x, shape) });
        const outputs = session.outputNames.map((name) => {
          const r = results[name];
          const o = { name, file: sanitize(name) + '.npy', shape: r.dims.map(Number), data: r.data, ...range(r.data) };
          if (f.kind !== 'det') o.min_top2_gap = minTop2Gap(r.data, o.shape[o.shape.length - 1]);
          return o;
        });
        const ok = outputs.every((o) => o.max > o.min && (o.min_top2_gap === undefined || o.min_top2_gap > MIN_TOP2_GAP));
        if (ok) chosen = { seed, x, outputs };
        else console.log(`make-fixtures: ${f.model} ${shapeName} seed ${seed}: outputs too close to call, next seed`);
      }
      if (!chosen) {
        console.error(`make-fixtures: ${f.model} ${shapeName}: no seed in ${MAX_SEED_TRIES} gave a clear top-1`);
        process.exit(1);
      }
      const dir = path.join(OUT, f.model, shapeName);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'x.npy'), npyBytes(shape, chosen.x));
      for (const o of chosen.outputs) fs.writeFileSync(path.join(dir, o.file), npyBytes(o.shape, o.data));
      manifest.fixtures.push({
        model: f.model,
        model_file: `models/${f.model}.onnx`,
        model_sha256: modelSha,
        kind: f.kind,
        dir: path.relative(path.join(ROOT, 'tests', 'fixtures'), dir).split(path.sep).join('/'),
        seed: chosen.seed,
        input: { name: inputName, file: 'x.npy', shape, normalization: f.norm },
        outputs: chosen.outputs.map((o) => {
          const e = { name: o.name, file: o.file, shape: o.shape, min: o.min, max: o.max };
          if (o.min_top2_gap !== undefined) e.min_top2_gap = o.min_top2_gap;
          return e;
        }),
      });
      const summary = chosen.outputs.map((o) => `${o.name} ${o.shape.join('x')} [${o.min.toPrecision(4)}, ${o.max.toPrecision(4)}]` +
        (o.min_top2_gap !== undefined ? ` gap ${o.min_top2_gap.toPrecision(3)}` : '')).join('; ');
      console.log(`make-fixtures: ${f.model} ${shapeName} seed ${chosen.seed}: ${summary}`);
    }
  }
  fs.writeFileSync(path.join(OUT, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`make-fixtures: wrote ${manifest.fixtures.length} fixtures to ${path.relative(ROOT, OUT)}`);
}

main().catch((e) => { console.error('make-fixtures:', e && e.stack ? e.stack : e); process.exit(1); });
