/**
 * The browser's detector file (web/build.ts browserDetector, bundleFiles.ts DETECTOR_INT8_FILE): int8 weights
 * in the file, a quarter of the float32 graph's bytes, and the same faces on the astronaut as the Node
 * Recognizer's default (int8 at 384, quantised in memory) — on onnxruntime-node and on onnxruntime-web (wasm,
 * inside Node, as the page runs it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { browserDetector } from '../web/build.js';
import { packageRoot } from '../src/engine/native.js';
import { DETECTOR_FILE, DETECTOR_INT8_SIZE } from '../src/infer/bundleFiles.js';
import { DEFAULT_DETECTOR_SIZE, detectFaces, type PipelineNets } from '../src/infer/facePipeline.js';
import { loadBundle } from '../src/infer/modelBundle.js';
import type { InferSession } from '../src/infer/ortSession.js';
import { readRgb } from '../src/infer/readImage.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { createSession } from '../src/infer/session.js';
import { ssdAnchors } from '../src/infer/ssdAnchors.js';
import { createWebSession } from '../src/infer/webSession.js';

const ROOT = packageRoot();
const SAMPLE = join(ROOT, 'examples', 'astronaut.png');

test('the browser detector file: int8 weights (< 30 % of the float32 bytes), the Node default\'s faces on the astronaut', { timeout: 240_000 }, async (t) => {
  // the file is made for the default input side (the Node default's graph, and what the browser uses by default)
  assert.equal(DETECTOR_INT8_SIZE, DEFAULT_DETECTOR_SIZE);
  const float = new Uint8Array(readFileSync(join(ROOT, 'models', DETECTOR_FILE)));
  const int8 = browserDetector(float);
  t.diagnostic(`${DETECTOR_FILE}: ${(float.length / 2 ** 20).toFixed(1)} MiB float32 → ${(int8.length / 2 ** 20).toFixed(1)} MiB int8`);
  assert.ok(int8.length < 0.3 * float.length, `${int8.length} bytes of ${float.length}`);

  const rec = await createRecognizer();
  const expected = (await rec.detect(SAMPLE)).faces;
  await rec.dispose();
  assert.equal(expected.length, 1);
  const bundle = loadBundle();
  const img = await readRgb(SAMPLE);
  const wasmPaths = `${dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))}/`;
  const runtimes: [string, (m: Uint8Array | string) => Promise<InferSession>][] = [
    ['onnxruntime-node', (m) => createSession(m)],
    ['onnxruntime-web (wasm)', (m) => createWebSession(m, { wasmPaths })],
  ];
  for (const [name, open] of runtimes) {
    const [detector, landmarker, classifier] = await Promise.all([open(int8), open(bundle.landmarks), open(bundle.expression)]);
    const nets: PipelineNets = {
      detector, detectorSize: DETECTOR_INT8_SIZE, anchors: ssdAnchors(DETECTOR_INT8_SIZE), landmarker, classifier,
      labels: bundle.labels, inputSize: bundle.card.input.size, template: bundle.template,
    };
    const faces = await detectFaces(nets, img);
    await Promise.all([detector.dispose(), landmarker.dispose(), classifier.dispose()]);
    assert.equal(faces.length, expected.length, name);
    faces.forEach((f, i) => {
      const e = expected[i]!;
      const worst = Math.max(...(['x', 'y', 'width', 'height'] as const).map((k) => Math.abs(f.box[k] - e.box[k])));
      t.diagnostic(`${name}: ${f.label} ${f.confidence.toFixed(3)} (Node default ${e.label} ${e.confidence.toFixed(3)}), box off by ≤ ${worst.toFixed(2)} px`);
      assert.equal(f.label, e.label, name);
      assert.ok(worst <= 2, `${name}: box ${JSON.stringify(f.box)} vs ${JSON.stringify(e.box)}`);
      assert.ok(Math.abs(f.confidence - e.confidence) <= 0.02, `${name}: confidence ${f.confidence} vs ${e.confidence}`);
    });
  }
});
