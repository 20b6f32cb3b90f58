import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCsvManifest } from '../src/data/csvManifest.js';
import type { DataSet } from '../src/data/dataSet.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import type { RawTensor } from '../src/engine/module.js';
import { liveTensors } from '../src/engine/runtime.js';
import { createPretrainedFaceNet } from '../src/nets/faceNetWeights.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { crossValidate, loadAll, subset } from '../src/train/experiment.js';
import { createRunContext } from '../src/train/runContext.js';
import { trainMethod, type Splits } from '../src/train/trainMethod.js';
import { writeSyntheticFaces } from './helpers/syntheticFaces.js';

const quick = (over: Record<string, unknown> = {}): TrainConfig =>
  resolveConfig(
    {
      valFraction: 0.25,
      teacher: { stage: { epochs: 2, batchSize: 8 } },
      stageA: { epochs: 3, batchSize: 8, warmupEpochs: 0 },
      stageB: { epochs: 4, batchSize: 8, warmupEpochs: 0, augment: false },
    },
    over,
  );

function losses(dir: string, stage: string): number[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { stage?: string; loss?: number })
    .filter((r) => r.stage === stage && r.loss !== undefined)
    .map((r) => r.loss as number);
}

describe('training stages on synthetic data', () => {
  let ds: DataSet;
  let manifest: string;
  let splits: Splits;
  before(async () => {
    const w = await writeSyntheticFaces();
    manifest = w.manifest;
    ds = await readCsvManifest(manifest);
    const cfg = quick();
    const ctx = createRunContext(mkdtempSync(join(tmpdir(), 'expnet-run-')), { seed: 1 });
    const all = await loadAll(ds, cfg, ctx);
    const n = all.y.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    splits = { train: subset(all, idx.filter((i) => i % 4 !== 0)), val: subset(all, idx.filter((i) => i % 4 === 0)) };
  });

  test('config resolver rejects unknown keys and wrong types with their path', () => {
    assert.throws(() => resolveConfig({ stageB: { epoch: 3 } }), /config\.stageB\.epoch: unknown option/);
    assert.throws(() => resolveConfig({ stageB: { lr: 'fast' } }), /config\.stageB\.lr: expected a number/);
    assert.throws(() => resolveConfig({ method: 'magic' }), /config\.method/);
    assert.equal(resolveConfig({ stageB: { lr: 0.5 } }).stageB.lr, 0.5);
  });

  test('scratch: stage (b) loss goes down and the model learns the classes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-scratch-'));
    const base = liveTensors();
    const t = await trainMethod(quick({ method: 'scratch', stageB: { epochs: 15 } }), splits, createRunContext(dir, { seed: 1 }), 3);
    const l = losses(dir, 'stageB');
    assert.ok((l.at(-1) ?? 9) < (l[0] ?? 0), `loss ${l.join(' → ')}`);
    assert.ok((t.valAccuracy ?? 0) >= 0.6, `validation accuracy ${t.valAccuracy}`);
    t.dispose();
    assert.ok(liveTensors() - base <= 2, `live tensors ${base} → ${liveTensors()}`);
  });

  test('fn2en: stage (a) regression loss goes down; the frozen teacher is unchanged', async () => {
    const teacher = await createPretrainedFaceNet();
    const before = new Map([...teacher.stateDict()].map(([k, v]) => [k, v.floats()]));
    const dir = mkdtempSync(join(tmpdir(), 'expnet-fn2en-'));
    const t = await trainMethod(quick({ method: 'fn2en', teacher: { fineTune: false } }), splits, createRunContext(dir, { seed: 1 }), 3, teacher);
    const la = losses(dir, 'stageA');
    assert.ok((la.at(-1) ?? 9) < (la[0] ?? 0), `stage (a) loss ${la.join(' → ')}`);
    assert.equal(losses(dir, 'stageB').length, 4);
    for (const [k, v] of before) assert.deepEqual(teacher.stateDict().get(k)?.floats(), v, `teacher weight ${k} changed`);
    t.dispose();
    teacher.dispose();
  });

  test('finetune: the face net with a new head trains on cached frozen features', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-ft-'));
    const t = await trainMethod(quick({ method: 'finetune', teacher: { stage: { epochs: 4 } } }), splits, createRunContext(dir, { seed: 1 }), 3);
    const l = losses(dir, 'teacher');
    assert.ok((l.at(-1) ?? 9) < (l[0] ?? 0), `loss ${l.join(' → ')}`);
    assert.equal(t.predict(splits.val).length, splits.val.y.length);
    t.dispose();
  });

  test('fn2en: stage (b) refines the pre-trained conv layers at lr × pretrainedLrScale', async () => {
    const movedInStageB = async (scale: number): Promise<number> => {
      const dir = mkdtempSync(join(tmpdir(), 'expnet-scale-'));
      const cfg = quick({ method: 'fn2en', teacher: { fineTune: false }, stageB: { pretrainedLrScale: scale } });
      const t = await trainMethod(cfg, splits, createRunContext(dir, { seed: 1 }), 3);
      const afterA = readSafetensors(join(dir, 'stageA.ckpt.safetensors')).tensors.get('model.student.block1.0.weight')?.data as Float32Array;
      const final = t.model.namedParameters().find(([k]) => k === 'block1.0.weight')?.[1].floats() as Float32Array;
      t.dispose();
      return afterA.reduce((m, v, i) => Math.max(m, Math.abs(v - (final[i] as number))), 0);
    };
    const frozen = await movedInStageB(1e-9);
    const free = await movedInStageB(1);
    assert.ok(frozen < 1e-6, `block1 moved by ${frozen} at scale 1e-9`);
    assert.ok(free > 1e-4, `block1 moved only ${free} at scale 1`);
  });

  test('fn2en with a student wider than the teacher target (an adapter conv): stage (a) is measured, stage (b) runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-adapter-'));
    const cfg = quick({ method: 'fn2en', student: { widths: [8, 8, 8, 8, 24] }, teacher: { stage: { epochs: 1 } }, stageA: { epochs: 1 }, stageB: { epochs: 1 } });
    const t = await trainMethod(cfg, splits, createRunContext(dir, { seed: 1 }), 3);
    const ev = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('explainedVariance'));
    assert.equal(ev.length, 1, 'explained variance logged once, through the adapter');
    assert.ok(t.stages['stageB'] && t.stages['stageB'].epochsRun === 1);
    t.dispose();
  });

  test('fn2en hands its fine-tuned face net to onTeacher: the same net --method finetune trains', async () => {
    const cfg = quick({ method: 'fn2en', stageA: { epochs: 1 }, stageB: { epochs: 1 } });
    let shared: Float32Array[] = [];
    const a = await trainMethod(cfg, splits, createRunContext(mkdtempSync(join(tmpdir(), 'expnet-share-')), { seed: 1 }), 3, undefined, {
      onTeacher: (teacher) => (shared = teacher.predict(splits.val)),
    });
    a.dispose();
    const b = await trainMethod({ ...cfg, method: 'finetune' }, splits, createRunContext(mkdtempSync(join(tmpdir(), 'expnet-ft2-')), { seed: 1 }), 3);
    assert.equal(shared.length, splits.val.y.length);
    assert.deepEqual(b.predict(splits.val), shared);
    b.dispose();
  });

  test('crossValidate runs only the folds asked for, and scores finetune from the fn2en run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-cv-'));
    const cfg = quick({ teacher: { stage: { epochs: 1 } }, stageA: { epochs: 1 }, stageB: { epochs: 1 } });
    const s = await crossValidate(ds, 4, ['fn2en', 'finetune'], cfg, createRunContext(dir, { seed: 1 }), { onlyFolds: [3] });
    assert.deepEqual(s.results.map((r) => [r.method, r.fold]).sort(), [['finetune', 3], ['fn2en', 3]]);
    assert.ok(!existsSync(join(dir, 'fold3-finetune')), 'the face net was fine-tuned a second time');
    // Resuming keeps the scored folds and trains only the missing ones.
    const again = await crossValidate(ds, 4, ['fn2en', 'finetune'], cfg, createRunContext(dir, { seed: 1, resume: true }), { onlyFolds: [3] });
    assert.deepEqual(again.results, s.results);
    await assert.rejects(crossValidate(ds, 4, ['scratch'], cfg, createRunContext(dir, { seed: 1 }), { onlyFolds: [5] }), /fold 5 does not exist/);
  });

  test('a crossValidate stopped inside a fold does not record it; --resume finishes that fold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-cv-stop-'));
    const cfg = quick({ method: 'scratch', stageB: { epochs: 2 } });
    const stopped = createRunContext(dir, { seed: 1 });
    stopped.stop?.(); // as Ctrl-C (or a passed --max-time) before the first step ends
    const s = await crossValidate(ds, 4, ['scratch'], cfg, stopped, { onlyFolds: [2] });
    assert.deepEqual(s.interrupted, { fold: 2, method: 'scratch' });
    assert.deepEqual(s.results, [], 'a half-trained fold is not a result');
    const done = await crossValidate(ds, 4, ['scratch'], cfg, createRunContext(dir, { seed: 1, resume: true }), { onlyFolds: [2] });
    assert.equal(done.interrupted, undefined);
    assert.deepEqual(done.results.map((r) => [r.method, r.fold]), [['scratch', 2]]);
  });

  describe('CLI: kill mid-run, resume, same final weights', () => {
    const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    const cli = (args: string[]) => [...process.execArgv, main, ...args];
    const common = ['--data', '', '--format', 'csv', '--method', 'scratch', '--seed', '3', '--threads', '1', '--quiet',
      '--set', 'stageB.epochs=4', '--set', 'stageB.batchSize=8', '--set', 'stageB.augment=false'];
    let dirs: string[] = [];
    after(() => (dirs = []));

    // bf16 runs wherever the test runs: EXPNET_CPU_BF16=1 lets a CPU without native bfloat16 emulate it (exactly).
    const env = { ...process.env, EXPNET_CPU_BF16: '1' };
    const finals: Record<string, Map<string, RawTensor>> = {};
    for (const precision of ['fp32', 'bf16'] as const)
    test(`an interrupted and resumed run equals an uninterrupted one (${precision})`, async () => {
      const args = [...common.map((a) => (a === '' ? manifest : a)), '--precision', precision];
      const full = mkdtempSync(join(tmpdir(), 'expnet-full-'));
      const killed = mkdtempSync(join(tmpdir(), 'expnet-killed-'));
      dirs.push(full, killed);
      const r1 = spawnSync(process.execPath, cli(['train', ...args, '--out', full]), { encoding: 'utf8', env });
      assert.equal(r1.status, 0, r1.stderr);
      const saved = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8')) as { config: { precision: string } };
      assert.equal(saved.config.precision, precision, 'config.json records the precision used');
      assert.equal((JSON.parse(readFileSync(join(full, 'results.json'), 'utf8')) as { precision: string }).precision, precision);
      assert.equal(readSafetensors(join(full, 'model.safetensors')).metadata['card']?.includes(`"precision":"${precision}"`), true, 'the model card records the precision');
      // Second run: SIGKILL as soon as the epoch-2 checkpoint exists, then --resume.
      const child = spawn(process.execPath, cli(['train', ...args, '--out', killed]), { stdio: 'ignore', env });
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = join(killed, 'metrics.jsonl');
          if (existsSync(m) && readFileSync(m, 'utf8').split('\n').filter((l) => l.includes('"epoch":2')).length > 0) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve();
          }
        }, 20);
        child.on('exit', () => {
          clearInterval(timer);
          resolve();
        });
        setTimeout(() => reject(new Error('timeout')), 120_000).unref();
      });
      assert.ok(!existsSync(join(killed, 'model.safetensors')), 'the run finished before it could be killed');
      const r2 = spawnSync(process.execPath, cli(['train', ...args, '--out', killed, '--resume']), { encoding: 'utf8', env });
      assert.equal(r2.status, 0, r2.stderr);
      const a = readSafetensors(join(full, 'model.safetensors')).tensors;
      const b = readSafetensors(join(killed, 'model.safetensors')).tensors;
      assert.equal(a.size, b.size);
      for (const [k, t] of a) assert.deepEqual(b.get(k)?.data, t.data, `weight ${k} differs after resume`);
      finals[precision] = a;
      if (finals['fp32'] && finals['bf16']) {
        const same = [...finals['fp32']].filter(([k, t]) => Buffer.from((finals['bf16']?.get(k)?.data ?? new Uint8Array(0)).buffer).equals(Buffer.from(t.data.buffer)));
        assert.ok(same.length < finals['fp32'].size, 'the bf16 run trained differently from the fp32 run');
      }
    });

    test('--precision: a bad value and bf16 on a CPU without native bfloat16 exit 2 with a message', () => {
      const r = spawnSync(process.execPath, cli(['train', '--data', manifest, '--format', 'csv', '--precision', 'fp16']), { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /precision: expected fp32, bf16, auto, got "fp16"/);
      const r2 = spawnSync(process.execPath, cli(['train', '--data', manifest, '--format', 'csv', '--precision', 'bf16', '--out', mkdtempSync(join(tmpdir(), 'expnet-nobf16-'))]), { encoding: 'utf8', env: { ...process.env, EXPNET_CPU_BF16: '0' } });
      assert.equal(r2.status, 2, r2.stderr);
      assert.match(r2.stderr, /no native bfloat16 .* use --precision fp32 or auto/);
    });

    test('bad flags exit 2 with a message; a missing data folder exits 3', () => {
      const r = spawnSync(process.execPath, cli(['train', '--data', manifest, '--set', 'stageB.nope=1']), { encoding: 'utf8' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /stageB\.nope: unknown option/);
      const r2 = spawnSync(process.execPath, cli(['train', '--data', join(tmpdir(), 'no-such-folder-expnet'), '--format', 'folder', '--out', mkdtempSync(join(tmpdir(), 'expnet-bad-'))]), { encoding: 'utf8' });
      assert.equal(r2.status, 3, r2.stderr);
    });
  });
});
