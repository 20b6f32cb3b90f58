/**
 * What a terminal shows while training: the whole-run ETA, one line per epoch with validation accuracy, Ctrl-C
 * (SIGINT) stopping with where and how to resume — the run resumes and finishes — and `--keep` pruning the
 * checkpoints of a finished run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fmtTime, progressBar, runEta } from '../src/cli/progressBar.js';
import { resumeCommand, whereStopped } from '../src/cli/trainStop.js';
import { resolveConfig } from '../src/train/config.js';
import { keepCheckpoints } from '../src/train/keepCheckpoints.js';
import { createRunContext } from '../src/train/runContext.js';
import { stagePlan } from '../src/train/trainMethod.js';
import { writeSyntheticFaces } from './helpers/syntheticFaces.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** A stream that records what it is sent (not a TTY: the per-epoch lines only). */
function sink(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write(chunk: string): boolean {
    s.text += chunk;
    return true;
  } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('training progress', () => {
  const p = { stage: 'teacher', epoch: 1, epochs: 2, step: 10, steps: 10, loss: 1.25, imagesPerSec: 50, etaSec: 10 };

  test('whole-run ETA: the current stage plus the later ones at the speed measured (or the current one)', () => {
    const plan = [{ name: 'teacher', epochs: 2, images: 100 }, { name: 'stageA', epochs: 3, images: 100 }, { name: 'stageB', epochs: 4, images: 100 }];
    assert.equal(runEta(p, plan, new Map()), 10 + 700 / 50);
    assert.equal(runEta({ ...p, stage: 'stageA', imagesPerSec: 100 }, plan, new Map([['stageB', 200]])), 10 + 400 / 200);
    assert.equal(runEta({ ...p, stage: 'other' }, plan, new Map()), 10);
    assert.deepEqual(stagePlan(resolveConfig({ method: 'fn2en' }), 7).map((s) => s.name), ['teacher', 'stageA', 'stageB']);
    assert.deepEqual(stagePlan(resolveConfig({ method: 'finetune' }), 7).map((s) => s.name), ['teacher']);
    assert.deepEqual(stagePlan(resolveConfig({ method: 'scratch' }), 7).map((s) => [s.name, s.images]), [['stageB', 7]]);
    assert.deepEqual([fmtTime(59.4), fmtTime(61), fmtTime(7322), fmtTime(Number.NaN)], ['59s', '1m01s', '2h02m', '--']);
  });

  test('one line per epoch with loss, validation accuracy and the run ETA (from the metrics records)', () => {
    const out = sink();
    const bar = progressBar(out);
    const dir = mkdtempSync(join(tmpdir(), 'expnet-progress-'));
    const ctx = createRunContext(dir, { seed: 1, reporter: bar });
    bar.plan?.([{ name: 'teacher', epochs: 2, images: 100 }, { name: 'stageB', epochs: 4, images: 100 }]);
    bar.progress(p);
    ctx.log({ stage: 'teacher', epoch: 1, loss: 1.25, val: 0.6123, sec: 2.04 });
    const lines = out.text.trim().split('\n');
    assert.equal(lines[0], 'stages: teacher (2 epochs) → stageB (4 epochs)');
    assert.equal(lines[1], 'teacher epoch 1/2  loss 1.2500  val 61.23 %  2.0 s  50 img/s  ETA 18s');
    assert.equal(bar.last()?.step, 10);
    assert.match(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'), /"val":0.6123/);
    ctx.stop?.();
    assert.equal(ctx.deadline, 1, 'stop() moves the deadline into the past');
    assert.equal(whereStopped(p), 'teacher epoch 1/2, step 10/10');
    assert.equal(resumeCommand('expnet train', ['--data', 'my data', '--set', 'a=1'], 'runs/x'), "expnet train --data 'my data' --set a=1 --resume --out runs/x");
    assert.equal(resumeCommand('expnet train', ['--out', 'r', '--resume'], 'r'), 'expnet train --out r --resume');
    assert.equal(resumeCommand('expnet train', ['--out', 'r', '--overwrite'], 'r'), 'expnet train --out r --resume', '--overwrite would delete what --resume continues');
  });

  test('--keep best|last|all prunes a finished run’s checkpoints, never model.safetensors', () => {
    for (const [keep, left] of [['all', 5], ['best', 3], ['last', 3]] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'expnet-keep-'));
      for (const f of ['teacher.ckpt.safetensors', 'teacher.best.safetensors', 'stageB.ckpt.safetensors', 'stageB.best.safetensors', 'model.safetensors']) writeFileSync(join(dir, f), Buffer.alloc(1000));
      const r = keepCheckpoints(dir, keep);
      const files = readdirSync(dir);
      assert.equal(files.length, left, `${keep}: ${files.join(', ')}`);
      assert.ok(files.includes('model.safetensors'));
      if (keep === 'best') assert.deepEqual(files.sort(), ['model.safetensors', 'stageB.best.safetensors', 'teacher.best.safetensors']);
      if (keep === 'last') assert.deepEqual(files.sort(), ['model.safetensors', 'stageB.ckpt.safetensors', 'teacher.ckpt.safetensors']);
      assert.equal(r.removed, (5 - left) * 1000);
    }
  });

  test('CLI: Ctrl-C stops after the current step, says where and how to resume; the resumed run finishes (--keep best)', { timeout: 240_000 }, async () => {
    const { root } = await writeSyntheticFaces(16, 4);
    const out = join(mkdtempSync(join(tmpdir(), 'expnet-sigint-')), 'run');
    const args = ['train', '--data', root, '--format', 'folder', '--method', 'scratch', '--seed', '3', '--keep', 'best', '--out', out,
      '--set', 'student.inputSize=16', '--set', 'student.widths=[4,4,4,4,4]', '--set', 'student.fcHidden=8', '--set', 'stageB.epochs=400', '--set', 'stageB.batchSize=4', '--set', 'stageB.augment=false'];
    const child = spawn(process.execPath, [...process.execArgv, main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/stageB epoch 2\/400 .*val \d/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((res) => child.on('close', res));
    assert.equal(code, 130, `exit ${code}\n${stderr}\n${stdout}`);
    assert.match(stderr, /Ctrl-C: stopping after the current step/);
    const m = /stopped by Ctrl-C during stageB epoch (\d+)\/400, step \d+\/\d+; .*continue with:\n {2}(expnet train .*--resume.*)\n/.exec(stdout);
    assert.ok(m, stdout);
    assert.ok(Number(m[1]) < 400, 'stopped before the end');
    assert.ok(existsSync(join(out, 'stageB.ckpt.safetensors')), 'resumable: the last finished epoch is checkpointed');
    assert.ok(!existsSync(join(out, 'model.safetensors')));
    // the printed command, with fewer epochs left so that it finishes quickly (a changed epoch count needs --force)
    const resume = [...(m[2] ?? '').replace(/^expnet /, '').split(' ').map((a) => a.replace(/^'|'$/g, '')).map((a) => (a === 'stageB.epochs=400' ? `stageB.epochs=${Number(m[1]) + 2}` : a)), '--force'];
    const r = spawnSync(process.execPath, [...process.execArgv, main, ...resume], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /stageB: resumed after epoch \d+/);
    assert.match(r.stderr, /--keep best: removed stageB\.ckpt\.safetensors/);
    assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.safetensors')).sort(), ['model.safetensors', 'stageB.best.safetensors']);
  });
});
