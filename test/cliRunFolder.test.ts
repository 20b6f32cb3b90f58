/**
 * Run folders are safe (issue 30): one training per `--out` (a stale-aware lock; two real processes), the saved
 * config checked on `--resume` (keys that differ named, `--force` only for epochs/device/precision), a trained
 * run refused without `--resume`/`--overwrite`, `--out` on /proc or an existing file refused, a full disk while
 * checkpointing a one-line error, metrics.jsonl without repeated rows after a resume, and CSV manifests whose
 * duplicate rows or escaping symlinks would leak images across the validation split or out of the folder.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCsvManifest } from '../src/data/csvManifest.js';
import { ExpnetError } from '../src/errors.js';
import { resolveConfig } from '../src/train/config.js';
import { validationSplit } from '../src/train/experiment.js';
import { createRunContext } from '../src/train/runContext.js';
import { checkResume, configDifferences, type RunRecord } from '../src/train/runFingerprint.js';
import { acquireRunLock, RUN_LOCK_FILE, selfOwner } from '../src/train/runLock.js';
import { writeSyntheticFaces } from './helpers/syntheticFaces.js';

const ext = extname(fileURLToPath(import.meta.url));
const main = fileURLToPath(new URL(`../src/cli/main${ext}`, import.meta.url));
const failWrites = new URL(`./helpers/failWrites${ext}`, import.meta.url).href;
const ENV = { ...process.env, EXPNET_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
type Result = { status: number | null; stdout: string; stderr: string };
const cli = (args: string[], env: NodeJS.ProcessEnv = ENV, pre: string[] = []): Result =>
  spawnSync(process.execPath, [...process.execArgv, ...pre, main, ...args], { encoding: 'utf8', env, timeout: 180_000 });
const noStack = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace on stderr:\n${stderr}`);
const code = (err: unknown): string => (err instanceof ExpnetError ? err.code : String(err));
const epochsLogged = (dir: string): number[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch?: number }).filter((r) => r.epoch !== undefined).map((r) => r.epoch as number);

describe('run folders: lock, config on resume, trained runs, odd --out (issue 30)', () => {
  let root: string;
  let manifest: string;
  let work: string;
  const train = (out: string, ...more: string[]): string[] => ['train', '--data', manifest, '--format', 'csv', '--method', 'scratch', '--out', out, '--quiet', '--threads', '1',
    '--set', 'stageB.batchSize=8', '--set', 'stageB.warmupEpochs=0', ...more];
  before(async () => {
    ({ root, manifest } = await writeSyntheticFaces(4, 2));
    work = mkdtempSync(join(tmpdir(), 'expnet-runs-'));
  });
  after(() => {
    for (const d of [root, work]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('two trainings into one --out: the second refuses naming folder and PID, the first finishes normally', async () => {
    const out = join(work, 'shared');
    const first = spawn(process.execPath, [...process.execArgv, main, ...train(out, '--set', 'stageB.epochs=100')], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstErr = '';
    first.stderr.on('data', (c: Buffer) => (firstErr += c.toString()));
    const firstExit = new Promise<number | null>((done) => first.on('exit', (c) => done(c)));
    let running = true;
    void firstExit.then(() => (running = false));
    const started = (): boolean => existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').includes('"epoch":1,');
    for (let t = Date.now(); !started(); ) {
      assert.ok(running && Date.now() - t < 120_000, `the first training did not start an epoch: ${firstErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = cli(train(out, '--set', 'stageB.epochs=1'));
    assert.ok(running, 'the first training ended before the second was refused: make it longer');
    assert.equal(second.status, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`${out.replace(/[/.]/g, '\\$&')} is in use by another training \\(PID ${first.pid} on `));
    noStack(second.stderr);
    assert.equal(await firstExit, 0, firstErr);
    assert.deepEqual(epochsLogged(out), Array.from({ length: 100 }, (_, i) => i + 1), 'metrics.jsonl holds the first run only');
    assert.ok(!existsSync(join(out, RUN_LOCK_FILE)), 'the lock is released at exit');
  });

  test('run lock: a live owner is an error; a dead PID, a zombie, a reused PID, another host or boot is taken over with a warning', () => {
    const dir = mkdtempSync(join(work, 'lock-'));
    const file = join(dir, RUN_LOCK_FILE);
    const me = selfOwner('expnet train (test)');
    const dead = spawnSync('true').pid;
    const warnings: string[] = [];
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['dead PID', { ...me, pid: dead }, new RegExp(`process ${dead} is no longer running`)],
      ['reused PID', { ...me, start: '1' }, /the PID now belongs to another process/],
      ['other host', { ...me, host: `not-${hostname()}` }, /taken on host not-/],
      ['other boot', { ...me, boot: 'an-earlier-boot' }, /before this machine last booted/],
    ];
    for (const [what, owner, reason] of cases) {
      writeFileSync(file, JSON.stringify(owner));
      warnings.length = 0;
      const lock = acquireRunLock(dir, 'test', (t) => warnings.push(t));
      assert.match(warnings.join('\n'), /took over a stale run lock/, what);
      assert.match(warnings.join('\n'), reason, what);
      assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid, process.pid, what);
      lock.release();
      assert.ok(!existsSync(file), `${what}: released`);
    }
    // A killed child its parent has not reaped yet (a zombie: kill(pid, 0) still succeeds) holds no lock.
    const zombie = spawn('true').pid ?? 0;
    for (const t = Date.now(); !/\) Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')) && Date.now() - t < 10_000; ) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    writeFileSync(file, JSON.stringify({ ...me, pid: zombie, start: '' }));
    warnings.length = 0;
    acquireRunLock(dir, 'test', (t) => warnings.push(t)).release();
    assert.match(warnings.join('\n'), new RegExp(`process ${zombie} has exited`));
    writeFileSync(file, JSON.stringify(me));
    assert.throws(() => acquireRunLock(dir, 'test', () => {}), (e: unknown) => code(e) === 'BAD_CONFIG' && String(e).includes(`${dir} is in use by another training (PID ${process.pid}`));
    assert.ok(existsSync(file), 'a live lock is left alone');
    writeFileSync(file, 'not json');
    assert.throws(() => acquireRunLock(dir, 'test', () => {}), /is not readable as a lock/);
    assert.deepEqual(readdirSync(dir), [RUN_LOCK_FILE], 'no temporary files left');
  });

  test('a trained run: refused without --resume; --resume refuses another seed, method or data, epochs need --force; --overwrite starts clean', () => {
    const out = join(work, 'finished');
    assert.equal(cli(train(out, '--set', 'stageB.epochs=2')).status, 0);
    const before = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    const again = cli(train(out, '--set', 'stageB.epochs=2'));
    assert.equal(again.status, 2, again.stderr);
    assert.match(again.stderr, /already holds a finished training run \(.*model\.safetensors.*\): continue it with --resume .*or start over with --overwrite/);
    noStack(again.stderr);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), before, 'the refused run touched nothing');

    const seed = cli([...train(out, '--set', 'stageB.epochs=2'), '--resume', '--seed', '2']);
    assert.equal(seed.status, 2, seed.stderr);
    assert.match(seed.stderr, /--resume: .* was trained with another config: seed: 1 → 2\. /);
    const method = cli([...train(out, '--set', 'stageB.epochs=3'), '--resume', '--force', '--method', 'fn2en']);
    assert.equal(method.status, 2, method.stderr);
    assert.match(method.stderr, /method: "scratch" → "fn2en"/);
    assert.match(method.stderr, /stageB\.epochs: 2 → 3/);
    assert.match(method.stderr, /; method cannot change on resume, even with --force \(it allows only .*stageB\.epochs/);
    const epochs = cli([...train(out, '--set', 'stageB.epochs=3'), '--resume']);
    assert.equal(epochs.status, 2, epochs.stderr);
    assert.match(epochs.stderr, /stageB\.epochs: 2 → 3\. These may change on resume with --force/);
    const forced = cli([...train(out, '--set', 'stageB.epochs=3'), '--resume', '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stderr, /--force: the resumed run continues with stageB\.epochs: 2 → 3/);
    assert.deepEqual(epochsLogged(out), [1, 2, 3]);

    const both = cli([...train(out), '--resume', '--overwrite']);
    assert.equal(both.status, 2, both.stderr);
    const fresh = cli(train(out, '--set', 'stageB.epochs=1', '--overwrite'));
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.deepEqual(epochsLogged(out), [1], 'no rows of the old run');
    assert.equal((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as RunRecord).config.stageB.epochs, 1);
  });

  test('checkResume: data and format are part of the run; a stage that later stages trained from cannot change its epochs', () => {
    const dir = mkdtempSync(join(work, 'fp-'));
    const cfg = resolveConfig({ method: 'fn2en' });
    const record: RunRecord = { command: 'expnet train', data: 'a.csv', format: 'csv', config: cfg };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(record));
    assert.deepEqual(checkResume(dir, { ...record, config: { ...cfg, maxTimeSec: 60 } }, false), [], 'the time limit may change freely');
    assert.throws(() => checkResume(dir, { ...record, data: 'b', format: 'folder' }, true), /data: "a\.csv" → "b", format: "csv" → "folder"\. Resume with the run's own settings/);
    const more = { ...record, config: { ...cfg, stageA: { ...cfg.stageA, epochs: 30 } } };
    assert.equal(checkResume(dir, more, true).length, 1, 'stage (a) has not trained yet: forced');
    writeFileSync(join(dir, 'stageB.ckpt.safetensors'), '');
    assert.throws(() => checkResume(dir, more, true), /; stageA\.epochs \(stageB has already trained from it\) cannot change on resume, even with --force/);
    // An older run's config lacks a newer key: it counts as that key's default.
    const older: Record<string, unknown> = { ...cfg };
    delete older['labelTargets'];
    assert.deepEqual(configDifferences(older, cfg), []);
  });

  test('--out: an existing file, /proc/x: a clear one-line error before anything is created (no spin, no stack)', () => {
    for (const [out, why] of [[manifest, /--out .*manifest\.csv: expected a run folder, got an existing file/], ['/proc/expnet-x/run', /--out \/proc\/expnet-x\/run: \/proc is on a virtual file system \(proc\)/]] as const) {
      const r = spawnSync(process.execPath, [...process.execArgv, main, ...train(out)], { encoding: 'utf8', env: ENV, timeout: 60_000 });
      assert.notEqual(r.status, null, `${out}: timed out (the mkdir spin)`);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('a full disk while checkpointing: one line naming the file and the resume point; the resumed run logs each epoch once', () => {
    const out = join(work, 'enospc');
    const failed = cli(train(out, '--set', 'stageB.epochs=3'), { ...ENV, EXPNET_TEST_FAIL_WRITE: '.ckpt.safetensors.tmp-@2' }, ['--import', failWrites]);
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /^expnet train: stageB: epoch 2 could not be checkpointed: cannot write .*stageB\.ckpt\.safetensors: no space left on the device \(the previous file is kept\); --resume continues after epoch 1 of stageB\n$/m);
    noStack(failed.stderr);
    assert.deepEqual(readdirSync(out).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
    assert.deepEqual(epochsLogged(out), [1, 2], 'epoch 2 was logged before its checkpoint failed');
    const resumed = cli([...train(out, '--set', 'stageB.epochs=3'), '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(epochsLogged(out), [1, 2, 3], 'epoch 2, trained again, is not logged twice');
    // The other files of a run: the log, results.json (atomic now), config.json
    const other: [Record<string, string>, RegExp][] = [
      [{ EXPNET_TEST_FAIL_APPEND: 'metrics.jsonl' }, /^expnet train: cannot append to .*metrics\.jsonl: no space left on the device$/m],
      [{ EXPNET_TEST_FAIL_WRITE: 'results.json' }, /^expnet train: cannot write .*results\.json: no space left on the device$/m],
      [{ EXPNET_TEST_FAIL_WRITE: 'config.json' }, /^expnet train: cannot write .*config\.json: no space left on the device$/m],
    ];
    for (const [i, [env, why]] of other.entries()) {
      const r = cli(train(join(work, `enospc-${i}`), '--set', 'stageB.epochs=1'), { ...ENV, ...env }, ['--import', failWrites]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, why);
      noStack(r.stderr);
    }
  });

  test('metrics.jsonl on resume: a torn last line is cut off; records already there are not repeated', () => {
    const dir = mkdtempSync(join(work, 'log-'));
    writeFileSync(join(dir, 'metrics.jsonl'), '{"time":"t","stage":"stageB","epoch":1,"loss":1}\n{"time":"t","stage":"stageB","epo');
    const ctx = createRunContext(dir, { seed: 1, resume: true });
    ctx.log({ stage: 'stageB', epoch: 1, loss: 1 });
    ctx.log({ stage: 'stageB', epoch: 2, loss: 0.5 });
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number });
    assert.deepEqual(rows.map((r) => r.epoch), [1, 2]);
  });
});

describe('CSV manifests: duplicates and symlinks (issue 30)', () => {
  let root: string;
  let manifest: string;
  let outside: string;
  before(async () => {
    ({ root, manifest } = await writeSyntheticFaces(4, 2));
    outside = mkdtempSync(join(tmpdir(), 'expnet-outside-'));
    writeFileSync(join(outside, 'secret.png'), readFileSync(join(root, 'happy', 'img0.png')));
  });
  after(() => {
    for (const d of [root, outside]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('duplicate rows (same real path: repeated, ./-spelled, a symlink inside) are dropped with a warning, never on both sides of the carve', async () => {
    symlinkSync('happy/img1.png', join(root, 'alias.png'));
    const rows = readFileSync(manifest, 'utf8').trim().split('\n');
    const body = rows.slice(1).map((r) => r.replace(/,S\d+$/, ''));
    const dupes = [...body, ...body.map((r) => `./${r}`), 'alias.png,sadness'];
    const csv = join(root, 'dupes.csv');
    writeFileSync(csv, `path,label\n${dupes.join('\n')}\n`);
    const warnings: string[] = [];
    const ds = await readCsvManifest(csv, { warn: (t) => warnings.push(t) });
    assert.equal(ds.samples.length, body.length);
    assert.match(warnings.join('\n'), new RegExp(`${body.length + 1} duplicate row\\(s\\) dropped.*1 of them had another label.*dupes\\.csv:${body.length + 2} \\(as .*dupes\\.csv:2\\)`));
    const split = validationSplit(ds, ds.samples.map((_, i) => i), resolveConfig({ valFraction: 0.5 }), 1);
    const paths = (ix: number[]): Set<string> => new Set(ix.map((i) => ds.samples[i]?.path ?? ''));
    const train = paths(split.train);
    assert.ok(split.validation.length > 0);
    assert.deepEqual([...paths(split.validation)].filter((p) => train.has(p)), [], 'no validation image is a training image');
  });

  test('a symlink leading outside the manifest folder is refused (file or folder), naming line and target; one inside is fine', async () => {
    mkdirSync(join(root, 'links'), { recursive: true });
    symlinkSync(join(outside, 'secret.png'), join(root, 'links', 'out.png'));
    symlinkSync(outside, join(root, 'links', 'outdir'));
    const csv = join(root, 'links.csv');
    for (const bad of ['links/out.png', 'links/outdir/secret.png']) {
      writeFileSync(csv, `path,label\nhappy/img0.png,happy\n${bad},sadness\n`);
      await assert.rejects(readCsvManifest(csv), (e: unknown) => code(e) === 'BAD_LABEL_FILE' && String(e).includes('links.csv:3') && /is outside the manifest's folder .*: a symlink leads to .*secret\.png/.test(String(e)), bad);
    }
    symlinkSync('../happy/img2.png', join(root, 'links', 'in.png'));
    writeFileSync(csv, 'path,label\nhappy/img0.png,happy\nlinks/in.png,happy\n');
    assert.equal((await readCsvManifest(csv)).samples.length, 2);
  });
});
