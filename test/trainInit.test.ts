import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { manualSeed } from '../src/engine/runtime.js';
import { writeSafetensors } from '../src/engine/safetensors.js';
import { saveWeights } from '../src/engine/checkpoint.js';
import { ExpNet } from '../src/nets/expNet.js';
import { createPretrainedFaceNet } from '../src/nets/faceNetWeights.js';
import { resolveConfig } from '../src/train/config.js';
import { initFaceNet, initStudent } from '../src/train/initWeights.js';
import { createRunContext } from '../src/train/runContext.js';
import { trainMethod } from '../src/train/trainMethod.js';
import type { ImageSet } from '../src/train/imageSet.js';

const small = { widths: [4, 4, 8, 8, 8] as [number, number, number, number, number], fcHidden: 8, numClasses: 3 };
const dir = (): string => mkdtempSync(join(tmpdir(), 'expnet-init-'));
const values = (m: ExpNet, name: string): Float32Array => m.stateDict().get(name)?.floats() ?? new Float32Array();

describe('init: starting weights from an earlier run', () => {
  test('init.student takes the conv blocks and BatchNorm statistics, not the head', () => {
    manualSeed(1);
    const a = new ExpNet(small);
    manualSeed(2);
    const b = new ExpNet({ ...small, numClasses: 5 }); // another label set: the head differs in shape too
    const file = join(dir(), 'model.safetensors');
    saveWeights(file, a);
    const n = initStudent(b, file).size;
    assert.equal(n, [...b.stateDict().keys()].filter((k) => !k.startsWith('head.')).length);
    for (const k of b.stateDict().keys())
      if (k.startsWith('head.')) assert.notDeepEqual(values(b, k), values(a, k), `${k} stays new`);
      else assert.deepEqual(values(b, k), values(a, k), `${k} copied`);
    a.dispose();
    b.dispose();
  });

  test('init.student reads a stage checkpoint (model.student.* names) too', () => {
    manualSeed(3);
    const a = new ExpNet(small);
    const b = new ExpNet(small);
    const file = join(dir(), 'stageA.ckpt.safetensors');
    writeSafetensors(file, new Map([...a.stateDict()].map(([k, v]) => [`model.student.${k}`, v])));
    initStudent(b, file);
    assert.deepEqual(values(b, 'block1.0.weight'), values(a, 'block1.0.weight'));
    a.dispose();
    b.dispose();
  });

  test('a missing or wrong init file is a clear error naming the file', async () => {
    const b = new ExpNet(small);
    assert.throws(() => initStudent(b, '/nonexistent/model.safetensors'), /init\.student: \/nonexistent\/model\.safetensors does not exist/);
    const wide = new ExpNet({ ...small, widths: [8, 8, 8, 8, 8] });
    const file = join(dir(), 'wide.safetensors');
    saveWeights(file, wide);
    assert.throws(() => initStudent(b, file), (e: Error) => e.message.includes(file) && /shape/.test(e.message));
    const face = await createPretrainedFaceNet();
    assert.throws(() => initFaceNet(face, file), (e: Error) => e.message.includes(file) && /lacks \d+ of the \d+ entries/.test(e.message));
    [b, wide, face].forEach((m) => m.dispose());
  });

  test('init.faceNet loads a teacher checkpoint (model.net.* names)', async () => {
    const src = await createPretrainedFaceNet();
    const dst = await createPretrainedFaceNet();
    const state = new Map([...src.stateDict()].map(([k, v]) => [`model.net.${k}`, k === 'conv256_1.conv1.weight' ? v.mul(2) : v]));
    const file = join(dir(), 'teacher.best.safetensors');
    writeSafetensors(file, state);
    state.get('model.net.conv256_1.conv1.weight')?.dispose(); // the doubled copy made above
    initFaceNet(dst, file);
    const w = (m: typeof src): Float32Array => m.stateDict().get('conv256_1.conv1.weight')?.floats() ?? new Float32Array();
    assert.deepEqual(w(dst), w(src).map((x) => x * 2));
    [src, dst].forEach((m) => m.dispose());
  });

  test('trainMethod checks init.student before any training', async () => {
    const set: ImageSet = { x: new Float32Array(4 * 48 * 48), y: Int32Array.from([0, 1, 2, 0]), sampleIndex: [0, 1, 2, 3], shape: { channels: 1, height: 48, width: 48 }, skipped: [] };
    const cfg = resolveConfig({ method: 'fn2en', init: { student: '/nonexistent/x.safetensors' } });
    const run = dir();
    await assert.rejects(trainMethod(cfg, { train: set, val: set }, createRunContext(run, { seed: 1 }), 3), /init\.student: .*does not exist/);
  });
});
