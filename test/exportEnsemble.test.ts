import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportCommand } from '../src/cli/export.js';
import { tensor } from '../src/engine/creation.js';
import { liveTensors, manualSeed } from '../src/engine/runtime.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel, type ModelCard } from '../src/nets/modelCard.js';
import { runNode } from './helpers/onnxHarness.js';

const TINY = { widths: [4, 8, 8, 8, 8] as const, fcHidden: 16, dropout: 0, batchNorm: true, numClasses: 3 };
const card = (net: ExpNet, name: string, temperature: number, size = 48): ModelCard => ({
  name, task: 'expression', arch: 'expnet', input: { size, channels: 1, range: [0, 1], layout: 'NCHW' }, labels: ['happy', 'neutral', 'sadness'], config: net.config,
  method: 'fn2en', training: { data: 'synthetic', command: 'test', seed: 0, epochs: {} }, metrics: {}, calibration: { temperature, eceBefore: 0, eceAfter: 0 },
  licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
});

test('expnet export: several models and --flip become one graph averaging the calibrated logits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-ensemble-'));
  manualSeed(3);
  const nets = [new ExpNet(TINY).eval(), new ExpNet(TINY).eval()];
  const temps = [0.8, 1.5];
  const paths = nets.map((n, i) => {
    const p = join(dir, `m${i}.safetensors`);
    saveExpNetModel(p, n, card(n, `member-${i}`, temps[i] ?? 1));
    return p;
  });
  const live = liveTensors();
  const out = join(dir, 'ens.onnx');
  assert.equal(await exportCommand([...paths, out, '--flip']), 0);
  assert.equal(liveTensors(), live, 'export leaks no tensors');
  const face = Float32Array.from({ length: 48 * 48 }, (_, i) => ((i * 29) % 97) / 96);
  // The expected output: mean over members and {face, mirrored face} of logits / T, in libtorch.
  const expected = new Float32Array(3);
  for (const [k, net] of nets.entries())
    for (const flip of [false, true]) {
      const x = tensor(face, [1, 1, 48, 48]);
      const v = flip ? x.flip([3]) : x;
      const z = net.forward(v).floats();
      z.forEach((zz, c) => (expected[c] = (expected[c] ?? 0) + zz / (temps[k] ?? 1) / 4));
      x.dispose();
      if (v !== x) v.dispose();
    }
  const got = (await runNode(new Uint8Array(readFileSync(out)), { face: { data: face, shape: [1, 1, 48, 48] } }))['logits']?.data ?? new Float32Array();
  Array.from(expected).forEach((e, c) => assert.ok(Math.abs(e - (got[c] ?? NaN)) < 1e-4, `logit ${c}: ${got[c]} vs ${e}`));
  const written = JSON.parse(readFileSync(join(dir, 'ens.json'), 'utf8')) as { name: string; ensemble?: { members: string[]; flip: boolean } };
  assert.deepEqual(written.ensemble, { members: ['member-0', 'member-1'], flip: true });
  assert.equal(written.name, 'member-0');
  // Members must agree on labels and input.
  const odd = new ExpNet({ ...TINY, inputSize: 64 }).eval();
  const oddPath = join(dir, 'odd.safetensors');
  saveExpNetModel(oddPath, odd, card(odd, 'odd', 1, 64));
  await assert.rejects(exportCommand([paths[0] ?? '', oddPath, join(dir, 'bad.onnx')]), /same labels and input/);
  for (const n of [...nets, odd]) n.dispose();
});
