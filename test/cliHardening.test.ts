/**
 * Malformed inputs to the CLI and the library (issue 17): undocumented image formats (an SVG naming a local
 * file must not be rendered), empty and broken images named in the errors, CSV manifests with paths outside
 * their folder or missing images, a tiny validation carve, damaged checkpoints (per-tensor SHA-256, naming file
 * and tensor; old files without sums still load) and a diverging run (a clear message, no stack trace).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readCsvManifest } from '../src/data/csvManifest.js';
import { decodeImageBytes } from '../src/data/decode.js';
import { loadCheckpoint, saveCheckpoint } from '../src/engine/checkpoint.js';
import { Linear } from '../src/engine/index.js';
import { packageRoot } from '../src/engine/native.js';
import { CHECKSUM_KEY, decodeSafetensors, encodeSafetensors } from '../src/engine/safetensors.js';
import { ExpnetError } from '../src/errors.js';
import { readRgb } from '../src/infer/readImage.js';
import { resolveConfig } from '../src/train/config.js';
import { loadAll } from '../src/train/experiment.js';
import { createRunContext } from '../src/train/runContext.js';
import { writeSyntheticFaces } from './helpers/syntheticFaces.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [...process.execArgv, main, ...args], { encoding: 'utf8', env: { ...process.env, EXPNET_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }, timeout: 180_000 });
const noStack = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace on stderr:\n${stderr}`);
const code = (err: unknown): string => (err instanceof ExpnetError ? err.code : String(err));

describe('malformed inputs: CLI and library (issue 17)', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expnet-cli-corpus-'));
    await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toFile(join(dir, 'secret.png'));
    writeFileSync(join(dir, 'local.svg'), '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="40"><image xlink:href="secret.png" width="40" height="40"/></svg>');
    writeFileSync(join(dir, 'zero.png'), Buffer.alloc(0));
    writeFileSync(join(dir, 'text.png'), 'this is not an image');
    const png = readFileSync(join(dir, 'secret.png'));
    writeFileSync(join(dir, 'cut.png'), png.subarray(0, png.length - 30));
    copyFileSync(join(packageRoot(), 'examples', 'astronaut.png'), join(dir, 'astronaut.png'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an SVG naming a local file is refused before decoding (library, training decode); anyFormat would render the file', async () => {
    const svg = join(dir, 'local.svg');
    await assert.rejects(readRgb(svg), (e: unknown) => code(e) === 'BAD_IMAGE' && /local\.svg: SVG is not a supported image format/.test(String(e)));
    await assert.rejects(decodeImageBytes(svg, { channels: 1, size: [48, 48] }), (e: unknown) => code(e) === 'BAD_IMAGE' && /local\.svg: SVG is not a supported/.test(String(e)));
    // The threat the refusal blocks: rendered, the SVG shows the local file's pixels (pure red).
    const rendered = await readRgb(svg, undefined, { anyFormat: true });
    assert.deepEqual([...rendered.data.subarray(0, 3)], [255, 0, 0]);
  });

  test('expnet predict: SVG, empty, garbage and truncated files are each named and skipped (exit 4); good ones still answer', () => {
    const names = ['local.svg', 'zero.png', 'text.png', 'cut.png', 'astronaut.png'];
    const r = cli(['predict', ...names.map((n) => join(dir, n)), '--json']);
    assert.equal(r.status, 4, r.stderr);
    for (const n of names.slice(0, 4)) assert.match(r.stderr, new RegExp(`expnet predict: .*${n.replace('.', '\\.')}: `), `${n} is named`);
    assert.match(r.stderr, /local\.svg: SVG is not a supported image format/);
    noStack(r.stderr);
    // Every input has a row (issue 16): the failed ones carry their error, the good one its face.
    const out = JSON.parse(r.stdout) as { results: { input?: string; file?: string; error?: string; faces?: unknown[] }[] };
    const name = (x: { input?: string; file?: string }): string | undefined => (x.input ?? x.file)?.split(/[\\/]/).pop();
    assert.deepEqual(out.results.map(name), names);
    assert.deepEqual(out.results.map((x) => x.error !== undefined), [true, true, true, true, false]);
    assert.equal(out.results[4]?.faces?.length, 1);
  });

  test('CSV manifests: paths outside the folder are refused, naming file and line', async () => {
    const csv = join(dir, 'outside.csv');
    for (const bad of ['../../../../etc/passwd', '/etc/passwd', 'a/../../b.png']) {
      writeFileSync(csv, `path,label\nastronaut.png,happy\n${bad},sad\n`);
      await assert.rejects(readCsvManifest(csv), (e: unknown) => code(e) === 'BAD_LABEL_FILE' && String(e).includes('outside.csv:3') && String(e).includes('outside the manifest'), bad);
    }
    writeFileSync(csv, `path,label\n./astronaut.png,happy\nsub/../zero.png,sad\n`);
    assert.equal((await readCsvManifest(csv)).samples.length, 2, 'paths that stay inside are fine');
    writeFileSync(csv, `path,label\nastronaut.png,happy\n../../../../etc/passwd,sad\n`);
    const r = cli(['train', '--data', csv, '--format', 'csv', '--method', 'scratch', '--out', join(dir, 'run-outside'), '--quiet']);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /outside\.csv:3: path "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is outside/);
    noStack(r.stderr);
  });

  test('missing images beyond config.maxSkippedImages fail the run before training; fewer are a warning', async () => {
    const { root, manifest } = await writeSyntheticFaces(3, 3);
    try {
      writeFileSync(manifest, readFileSync(manifest, 'utf8') + Array.from({ length: 3 }, (_, i) => `gone/missing${i}.png,happy,S1\n`).join(''));
      const ds = await readCsvManifest(manifest);
      const warnings: string[] = [];
      const ctx = createRunContext(mkdtempSync(join(tmpdir(), 'expnet-run-')), { seed: 1, reporter: { progress: () => {}, message: () => {}, warn: (t) => warnings.push(t) } });
      await assert.rejects(loadAll(ds, resolveConfig({ maxSkippedImages: 2 }), ctx), (e: unknown) => code(e) === 'BAD_INPUT' && /3 of \d+ images are missing or cannot be decoded, more than config\.maxSkippedImages = 2/.test(String(e)) && String(e).includes('missing0.png'));
      const set = await loadAll(ds, resolveConfig({ maxSkippedImages: 3 }), ctx);
      assert.equal(set.y.length, ds.samples.length - 3);
      assert.ok(warnings.some((w) => /3 missing or undecodable image\(s\) skipped/.test(w)), warnings.join('\n'));
      assert.throws(() => resolveConfig({ maxSkippedImages: -1 }), /config\.maxSkippedImages/);
      const r = cli(['train', '--data', manifest, '--format', 'csv', '--method', 'scratch', '--out', join(dir, 'run-missing'), '--quiet', '--set', 'maxSkippedImages=2']);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /3 of \d+ images are missing or cannot be decoded, more than config\.maxSkippedImages = 2 allows: .*missing0\.png/);
      noStack(r.stderr);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a 4-image CSV: training warns that validation accuracy is not meaningful', async () => {
    const csv = join(dir, 'tiny.csv');
    // four distinct images (duplicate rows would be dropped: issue 30)
    for (const [i, n] of ['a', 'b', 'c', 'd'].entries()) await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 60 * i, g: 255 - 60 * i, b: 0 } } }).png().toFile(join(dir, `tiny-${n}.png`));
    writeFileSync(csv, 'path,label\ntiny-a.png,happy\ntiny-b.png,sad\ntiny-c.png,happy\ntiny-d.png,sad\n');
    const r = cli(['train', '--data', csv, '--format', 'csv', '--method', 'scratch', '--out', join(dir, 'run-tiny'), '--quiet', '--threads', '1',
      '--set', 'stageB.epochs=1', '--set', 'stageB.batchSize=2', '--set', 'stageB.warmupEpochs=0']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /validation holds only 1 image\(s\) \(fewer than 30\): its accuracy is not meaningful/);
  });

  test('checkpoints: a tensor overwritten with NaN fails its SHA-256, naming file and tensor; files without sums still load', () => {
    const file = join(dir, 'net.ckpt.safetensors');
    const net = new Linear(4, 3);
    saveCheckpoint(file, { model: net, extra: { epoch: 2 } });
    const bytes = readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets?: [number, number] }> & { __metadata__: Record<string, string> };
    assert.ok(header.__metadata__[CHECKSUM_KEY], 'the file carries per-tensor sums');
    const [start] = header['model.weight']?.data_offsets ?? [0];
    const damaged = Buffer.from(bytes);
    damaged.writeFloatLE(Number.NaN, 8 + headerLength + start);
    writeFileSync(file, damaged);
    assert.throws(() => loadCheckpoint(file, { model: net }), (e: unknown) => code(e) === 'BAD_WEIGHTS' && String(e).includes(file) && /tensor 'model\.weight' fails its SHA-256 check/.test(String(e)));

    // An older file (no sums): loads unchecked.
    const raw = new Map([['w', { dtype: 'float32' as const, shape: [2], data: new Float32Array([1, 2]) }]]);
    const withSums = Buffer.concat(encodeSafetensors(raw, { note: 'x' }));
    const n = Number(withSums.readBigUInt64LE(0));
    const h = JSON.parse(withSums.subarray(8, 8 + n).toString('utf8')) as { __metadata__: Record<string, string> };
    delete h.__metadata__[CHECKSUM_KEY];
    const head = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    const old = decodeSafetensors(Buffer.concat([len, head, withSums.subarray(8 + n)]), 'old.safetensors');
    assert.deepEqual([...(old.tensors.get('w')?.data as Float32Array)], [1, 2]);
    assert.deepEqual(old.metadata, { note: 'x' });
    assert.deepEqual(decodeSafetensors(withSums, 'new.safetensors').metadata, { note: 'x' }, 'the sums are not part of the metadata callers see');
    net.dispose();
  });

  test('expnet train --resume on a damaged checkpoint, and a diverging run: exit codes and messages, no stack trace', async () => {
    const { root, manifest } = await writeSyntheticFaces(4, 2);
    try {
      const out = join(dir, 'run-resume');
      const common = ['train', '--data', manifest, '--format', 'csv', '--method', 'scratch', '--out', out, '--quiet', '--threads', '1', '--set', 'stageB.batchSize=8', '--set', 'stageB.warmupEpochs=0'];
      assert.equal(cli([...common, '--set', 'stageB.epochs=1']).status, 0);
      const ckpt = readdirSync(out).find((f) => f.endsWith('.ckpt.safetensors'));
      assert.ok(ckpt, `a checkpoint in ${readdirSync(out).join(', ')}`);
      const bytes = readFileSync(join(out, ckpt));
      bytes.fill(0xff, bytes.length - 64);
      writeFileSync(join(out, ckpt), bytes);
      const resumed = cli([...common, '--set', 'stageB.epochs=2', '--resume', '--force']); // more epochs on resume: --force (issue 30)
      assert.equal(resumed.status, 3, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`${ckpt.replace(/\./g, '\\.')} is damaged: tensor '[^']+' fails its SHA-256 check`));
      noStack(resumed.stderr);

      const diverged = cli(['train', '--data', manifest, '--format', 'csv', '--method', 'scratch', '--out', join(dir, 'run-nan'), '--quiet', '--threads', '1',
        '--set', 'stageB.epochs=3', '--set', 'stageB.batchSize=8', '--set', 'stageB.warmupEpochs=0', '--set', 'stageB.lr=1e30', '--set', 'stageB.clipNorm=0']);
      assert.equal(diverged.status, 1, diverged.stderr);
      assert.match(diverged.stderr, /the loss became (NaN|-?Infinity) at epoch \d+, step \d+\. Lower the learning rate; check the data .* and the weights the run started from \(--resume checkpoints/);
      noStack(diverged.stderr);
      assert.ok(existsSync(join(dir, 'run-nan')));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** A uid to drop to: root reads folders whatever their mode, so the chmod 000 check runs as nobody (setpriv). */
const dropTo = ((): string[] | string => {
  if (process.getuid?.() !== 0) return [];
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
  return r.status === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : 'running as root without setpriv: a chmod 000 folder stays readable, cannot check';
})();

describe('predict: only regular files are read; unreadable entries are rows (issue 30)', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'expnet-entries-'));
    for (const d of ['in/locked', 'in/ok']) mkdirSync(join(root, d), { recursive: true });
    for (const f of ['in/ok/a.png', 'in/locked/b.png', 'in/z.png']) copyFileSync(join(packageRoot(), 'examples', 'astronaut.png'), join(root, f));
    assert.equal(spawnSync('mkfifo', [join(root, 'in', 'pipe.png')]).status, 0, 'mkfifo');
    symlinkSync('loop.png', join(root, 'in', 'loop.png'));
    writeFileSync(join(root, 'in', 'denied.png'), readFileSync(join(packageRoot(), 'examples', 'astronaut.png')));
    chmodSync(join(root, 'in', 'denied.png'), 0o000);
    chmodSync(join(root, 'in', 'locked'), 0o000);
    chmodSync(root, 0o755);
  });
  after(() => {
    if (!root) return;
    chmodSync(join(root, 'in', 'locked'), 0o755);
    rmSync(root, { recursive: true, force: true });
  });
  const asNobody = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const [cmd, ...pre] = dropTo as string[];
    return cmd === undefined ? cli(args) : spawnSync(cmd, [...pre, process.execPath, ...process.execArgv, main, ...args], { encoding: 'utf8', env: { ...process.env, EXPNET_NUM_THREADS: '1' }, timeout: 180_000 });
  };

  test('a chmod 000 sub-folder and file are error rows, the readable images are processed (exit 4, no stack)', { skip: typeof dropTo === 'string' ? dropTo : false }, () => {
    const r = asNobody(['predict', join(root, 'in'), '--jsonl']);
    noStack(r.stderr);
    assert.equal(r.status, 4, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; error?: string; faces: unknown[] });
    const by = new Map(rows.map((x) => [x.input.slice(root.length + 4), x]));
    assert.match(by.get('locked')?.error ?? '', /cannot read folder: permission denied/);
    assert.match(by.get('denied.png')?.error ?? '', /permission denied/);
    assert.equal(by.get('ok/a.png')?.faces.length, 1);
    assert.equal(by.get('z.png')?.faces.length, 1);
    // the glob form finds the readable matches
    const g = asNobody(['predict', `${root}/in/**/*.png`, '--jsonl']);
    assert.match(g.stdout, /ok\/a\.png/);
    assert.doesNotMatch(g.stderr, /no match/);
  });

  test('a FIFO in a folder does not hang predict; named, FIFO and symlink loop are rows with their reason', () => {
    const dir = cli(['predict', join(root, 'in', 'ok'), join(root, 'in', 'z.png'), join(root, 'in', 'pipe.png'), join(root, 'in', 'loop.png'), '--jsonl']);
    assert.notEqual(dir.status, null, 'predict hung on the FIFO');
    const rows = dir.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; error?: string });
    assert.match(rows.find((x) => x.input.endsWith('pipe.png'))?.error ?? '', /not a regular file \(a FIFO\)/);
    assert.match(rows.find((x) => x.input.endsWith('loop.png'))?.error ?? '', /symlink loop/);
    assert.equal(rows.filter((x) => x.error === undefined).length, 2);
    const walk = cli(['predict', root, '--jsonl']);
    assert.notEqual(walk.status, null, 'predict hung on the FIFO');
    assert.match(walk.stdout, /z\.png/);
  });

  test('--annotate: an existing file is a usage error; copies are written atomically and never re-read as inputs', () => {
    const file = join(root, 'in', 'z.png');
    const u = cli(['predict', file, '--annotate', file]);
    assert.equal(u.status, 2, u.stderr);
    assert.match(u.stderr, /--annotate .*expected a folder/);
    const out = join(root, 'in', 'ok', 'annotated');
    for (let k = 0; k < 2; k++) {
      const r = cli(['predict', join(root, 'in', 'ok'), '--annotate', out, '--jsonl']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim().split('\n').length, 1, `run ${k + 1} read its own annotated copies:\n${r.stdout}`);
    }
    assert.deepEqual(readdirSync(out), ['a.annotated.png']);
    // the input folder itself as DIR: its images are still inputs, the copies are not
    const same = mkdtempSync(join(tmpdir(), 'expnet-annotate-same-'));
    try {
      copyFileSync(file, join(same, 'p.png'));
      for (let k = 0; k < 2; k++) {
        const r = cli(['predict', same, '--annotate', same, '--jsonl']);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { input: string }).input.split('/').pop()), ['p.png'], `run ${k + 1}`);
      }
      assert.deepEqual(readdirSync(same).sort(), ['p.annotated.png', 'p.png']);
    } finally {
      rmSync(same, { recursive: true, force: true });
    }
  });

  test('control characters in a file name do not reach the terminal raw', () => {
    const evil = join(root, 'in', 'ok', 'x\x1b[2Jy.png');
    copyFileSync(join(root, 'in', 'z.png'), evil);
    try {
      const r = cli(['predict', evil, join(root, 'missing\x07.png')]);
      assert.doesNotMatch(r.stdout + r.stderr, /[\x07\x1b]/);
      assert.match(r.stdout, /x\\x1b\[2Jy\.png/);
    } finally {
      rmSync(evil);
    }
  });
});
