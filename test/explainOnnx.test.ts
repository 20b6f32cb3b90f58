/**
 * Grad-CAM from what is bundled: an exported ExpNet (.onnx, BatchNorm folded into the convs) read back into a
 * libtorch ExpNet computes the same logits and the same Grad-CAM maps as the net it was exported from; the CLI
 * explains a photo with the bundled models/expnet-fer2013.onnx and agrees with the Recognizer (ONNX Runtime).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { randn, tensor } from '../src/engine/creation.js';
import { packageRoot } from '../src/engine/native.js';
import { manualSeed, noGrad } from '../src/engine/runtime.js';
import { explainCrop } from '../src/eval/explain.js';
import { ExpnetError } from '../src/errors.js';
import { exportOnnx } from '../src/export/onnxExport.js';
import { bundledModelDir, DEFAULT_EXPLAIN_MODEL, resolveModelName } from '../src/infer/modelBundle.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { ExpNet } from '../src/nets/expNet.js';
import { expNetFromOnnx } from '../src/nets/expNetFromOnnx.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);

test('ONNX → libtorch ExpNet: same logits and Grad-CAM maps as the exported net (BatchNorm folded)', () => {
  manualSeed(5);
  const config = { inputSize: 32, widths: [4, 8, 8, 16, 16] as const, fcHidden: 12, dropout: 0.5, numClasses: 3 };
  const net = new ExpNet(config);
  // non-trivial BatchNorm statistics, so that folding matters
  noGrad(() => {
    for (const [name, b] of net.namedBuffers()) {
      if (name.endsWith('running_mean')) b.assign(tensor(Float32Array.from({ length: b.size }, (_, i) => 0.1 * Math.sin(i + 1)), [...b.shape]));
      if (name.endsWith('running_var')) b.assign(tensor(Float32Array.from({ length: b.size }, (_, i) => 0.5 + 0.4 * Math.cos(i)), [...b.shape]));
    }
  });
  net.eval();
  const x = randn([1, 1, 32, 32]).abs();
  const back = expNetFromOnnx(exportOnnx(net, [x]), net.config, 'test.onnx');
  try {
    assert.equal(back.config.batchNorm, false);
    const [a, b] = noGrad(() => [net.forward(x), back.forward(x)]);
    const d = maxDiff(a?.floats() ?? [], b?.floats() ?? []);
    a?.dispose();
    b?.dispose();
    assert.ok(d < 1e-4, `logits differ by ${d}`);
    const crop = x.floats();
    for (const block of [5, 3]) {
      const e1 = explainCrop(net, ['a', 'b', 'c'], crop, { block, chosen: 'c' });
      const e2 = explainCrop(back, ['a', 'b', 'c'], crop, { block, chosen: 'c' });
      assert.equal(e2.predicted.label, e1.predicted.label);
      assert.ok(maxDiff(e1.predicted.map, e2.predicted.map) < 1e-3, `block ${block}: predicted maps differ by ${maxDiff(e1.predicted.map, e2.predicted.map)}`);
      assert.ok(maxDiff(e1.chosen?.map ?? [], e2.chosen?.map ?? []) < 1e-3, `block ${block}: chosen maps differ`);
    }
    // a config the graph does not have is an error naming the file
    assert.throws(() => expNetFromOnnx(exportOnnx(net, [x]), { ...net.config, widths: [4, 8, 8, 16, 32] }, 'test.onnx'), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_MODEL' && /test\.onnx: .*block5/.test(e.message));
  } finally {
    back.dispose();
    net.dispose();
    x.dispose();
  }
});

test('expnet explain works out of the box: the bundled ONNX model, the same probabilities as the Recognizer', { skip: !existsSync(join(bundledModelDir(), `${resolveModelName(DEFAULT_EXPLAIN_MODEL)}.onnx`)) && 'no bundled model' }, async () => {
  const astronaut = join(packageRoot(), 'examples', 'astronaut.png');
  const out = join(mkdtempSync(join(tmpdir(), 'expnet-explain-onnx-')), 'a.png');
  const r = spawnSync(process.execPath, [...process.execArgv, main, 'explain', astronaut, '--class', 'sadness', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { faces: { probs: Record<string, number>; predicted: { label: string; map: number[] }; mapSize: number[] }[] };
  assert.equal(j.faces.length, 1);
  assert.equal(j.faces[0]?.predicted.label, 'happy');
  assert.deepEqual(j.faces[0]?.mapSize, [3, 3]);
  assert.ok(existsSync(out));
  const rec = await createRecognizer({ expressionModel: DEFAULT_EXPLAIN_MODEL });
  try {
    const want: Record<string, number> = (await rec.detect(astronaut)).faces[0]?.expressions ?? {};
    for (const [l, p] of Object.entries(want)) assert.ok(Math.abs((j.faces[0]?.probs[l] ?? NaN) - p) < 1e-4, `${l}: explain ${j.faces[0]?.probs[l]} vs recognizer ${p}`);
  } finally {
    await rec.dispose();
  }
});
