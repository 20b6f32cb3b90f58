/**
 * predict's inputs and long-run output (issue 29 items 5–7): symlinked folders, {a,b} and [12] globs, stdin,
 * an empty folder named (exit 3); JSON Lines written as inputs are done and --resume skipping what the output
 * holds; --model taking an .onnx file, an unknown name listing the available models (exit 2).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/engine/native.js';
import { expandInputs } from '../src/cli/inputs.js';
import { progressLine, rateEta } from '../src/cli/predictProgress.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const astronaut = join(packageRoot(), 'examples', 'astronaut.png');
const cli = (args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [...process.execArgv, main, ...args], { encoding: 'utf8', env: { ...process.env, EXPNET_NUM_THREADS: '1' }, timeout: 180_000, ...(input ? { input } : {}) });
const inputs = (stdout: string): string[] => stdout.trim().split('\n').map((l) => (JSON.parse(l) as { input: string }).input);

describe('predict inputs and output', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'expnet-inputs-'));
    for (const d of ['real', 'empty', 'g']) mkdirSync(join(root, d));
    for (const f of ['real/a.png', 'g/1.png', 'g/2.png', 'g/3.png']) copyFileSync(astronaut, join(root, f));
    symlinkSync(join(root, 'real'), join(root, 'link'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('expandInputs: symlinked folders are walked, {a,b} and [12] globs match, - is stdin', () => {
    const sorted = (xs: string[]): string[] => xs.map((f) => f.slice(root.length + 1)).sort();
    assert.deepEqual(sorted(expandInputs([join(root, 'link')]).files), ['link/a.png']);
    assert.deepEqual(sorted(expandInputs([`${root}/g/{1,3}.png`]).files), ['g/1.png', 'g/3.png']);
    assert.deepEqual(sorted(expandInputs([`${root}/g/[12].png`]).files), ['g/1.png', 'g/2.png']);
    assert.deepEqual(expandInputs(['-']).files, ['-']);
    assert.deepEqual(expandInputs([join(root, 'empty')]).empty, [join(root, 'empty')]);
  });

  test('an empty folder is named (exit 3); stdin is read', () => {
    const e = cli(['predict', join(root, 'empty')]);
    assert.equal(e.status, 3);
    assert.match(e.stderr, /no images in folder .*empty/);
    const s = cli(['predict', '-', '--jsonl'], readFileSync(astronaut));
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(inputs(s.stdout), ['-']);
  });

  test('--jsonl --output streams one line per input; --resume skips them and retries a cut-off line', () => {
    const out = join(root, 'rows.jsonl');
    const r = cli(['predict', join(root, 'g'), '--jsonl', '--output', out]);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 3);
    writeFileSync(out, `${lines[0]}\n${(lines[1] ?? '').slice(0, 20)}`); // an interrupted run
    const again = cli(['predict', join(root, 'g'), '--jsonl', '--output', out, '--resume']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /1 of 3 inputs already/);
    assert.deepEqual(inputs(readFileSync(out, 'utf8')).map((f) => f.slice(-5)), ['1.png', '2.png', '3.png']);
    assert.equal(cli(['predict', join(root, 'g'), '--resume']).status, 2);
  });

  test('progress carries a rate and an ETA', () => {
    assert.deepEqual(rateEta(10, 40, 5), { rate: 2, eta: 15 });
    assert.match(progressLine(10, 40, 5, 'x.png'), /^11\/40 {2}2\.0 img\/s {2}ETA 15s {2}x\.png$/);
  });

  test('--model takes an .onnx file; an unknown name lists the models (exit 2)', () => {
    const f = cli(['predict', astronaut, '--model', join(packageRoot(), 'models', 'expnet-mix.onnx'), '--jsonl']);
    assert.equal(f.status, 0, f.stderr);
    const u = cli(['predict', astronaut, '--model', 'nosuch']);
    assert.equal(u.status, 2, u.stderr);
    assert.match(u.stderr, /available: .*expnet-fer2013/);
  });
});
