/**
 * `expnet eval` on data a model trained on: the card's `training.sets` (else the sets `training.data` names, with
 * `expnet train`'s split protocol) tells seen from unseen samples; the overlap is a warning on stderr and in the
 * report, and only the held-out samples are scored unless --include-seen. A tiny CK+48-style set and a random
 * model whose card held out one of its three subjects.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { DataSet, Sample } from '../src/data/dataSet.js';
import { CKPLUS48_LABELS } from '../src/data/labels.js';
import { manualSeed } from '../src/engine/runtime.js';
import { evalSplit, heldOutScope } from '../src/eval/evalSplit.js';
import { namedSets, trainingOverlap } from '../src/eval/trainingOverlap.js';
import { describeTrainingSet } from '../src/train/trainingSets.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel, type ModelTraining } from '../src/nets/modelCard.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [...process.execArgv, main, 'eval', ...args], { encoding: 'utf8' });

const ds = (name: string, samples: Partial<Sample>[]): DataSet => ({ name, root: '.', labels: ['happy'], samples: samples.map((s, i) => ({ path: `${i}.png`, label: 'happy', ...s })) });
const base: ModelTraining = { data: 'x', command: 'test', seed: 1, epochs: {} };

describe('which evaluated samples a model trained on', () => {
  const ck = ds('ckplus48', [{ subject: 'S1' }, { subject: 'S1' }, { subject: 'S2' }, { subject: 'S3' }]);
  const card: ModelTraining = { ...base, sets: [{ name: 'ckplus48-holdout', sameSourceAs: ['ckplus48'], heldOutSubjects: ['S2'] }] };

  test('held-out subjects, matched through another name of the same source', () => {
    const o = trainingOverlap(card, ck, [0, 1, 2, 3]);
    assert.deepEqual([o?.seen, o?.unseen, o?.seenSubjects, o?.subjects], [[0, 1, 3], [2], 2, 3]);
    assert.equal(trainingOverlap(card, ds('sfew', [{ split: 'Train' }]), [0]), null, 'a set the card does not name');
  });

  test('without `sets`: the sets `data` names, trained on except their test splits', () => {
    assert.deepEqual(namedSets('fer2013 (fer2013, weight 1) + sfew#2 (sfew, weight 3) + ckplus48-holdout (csv, weight 2)'), ['fer2013', 'sfew', 'ckplus48-holdout']);
    assert.deepEqual(namedSets('fer2013 (fer2013)'), ['fer2013']);
    const fer = ds('fer2013', [{ split: 'Training' }, { split: 'PublicTest' }, { split: 'PrivateTest' }]);
    const o = trainingOverlap({ ...base, data: 'fer2013 (fer2013)' }, fer, [0, 1, 2]);
    assert.deepEqual([o?.seen, o?.unseen], [[0], [1, 2]]);
  });

  test('the scope: only what no model saw (paired), or all with --include-seen; a warning per overlapping model', () => {
    const split = evalSplit(ck);
    const other = { name: 'b', training: { ...base, sets: [{ name: 'ckplus48', heldOutSubjects: ['S2', 'S3'] }] } };
    const s = heldOutScope([{ name: 'a', training: card }, other, { name: 'c' }], ck, split, false);
    assert.deepEqual(s.indices, [2]);
    assert.match(s.description, /the 1 samples never trained on \(held out\)/);
    assert.equal(s.warnings[0]?.[0], 'a was trained on 3 of the 4 evaluated samples of ckplus48 (2 of 3 subjects) (its card: ckplus48-holdout): scoring only the 1 samples it never saw (--include-seen scores all)');
    assert.match(s.warnings[1]?.[0] ?? '', /^b was trained on 2 of the 4/);
    assert.deepEqual(s.warnings[2], []);
    const all = heldOutScope([{ name: 'a', training: card }], ck, split, true);
    assert.deepEqual(all.indices, [0, 1, 2, 3]);
    assert.match(all.warnings[0]?.[0] ?? '', /the accuracy includes them and is not a held-out accuracy/);
    const none = heldOutScope([{ name: 'a', training: { ...base, sets: [{ name: 'ckplus48', heldOutSubjects: ['S1', 'S2', 'S3'] }] } }], ck, split, false);
    assert.deepEqual([none.indices, none.warnings, none.description], [[0, 1, 2, 3], [[]], split.description]);
  });
});

describe('expnet eval warns and scores the held-out subjects', () => {
  let root: string;
  let model: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-overlap-'));
    root = join(dir, 'ck');
    const files: [string, string][] = [['happy', 'S010_001_00000010'], ['happy', 'S010_002_00000011'], ['anger', 'S011_001_00000009'], ['happy', 'S012_001_00000012'], ['anger', 'S012_002_00000013']];
    for (const [i, [label, name]] of files.entries()) {
      mkdirSync(join(root, label), { recursive: true });
      const px = Buffer.from(Array.from({ length: 48 * 48 }, (_, k) => (k * (i + 3)) % 256));
      await sharp(px, { raw: { width: 48, height: 48, channels: 1 } }).png().toFile(join(root, label, `${name}.png`));
    }
    manualSeed(2);
    const net = new ExpNet({ widths: [4, 4, 4, 4, 4], fcHidden: 0, numClasses: CKPLUS48_LABELS.length }).eval();
    model = join(dir, 'model.safetensors');
    saveExpNetModel(model, net, {
      name: 'fixture', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' }, labels: [...CKPLUS48_LABELS], config: net.config, method: 'scratch',
      training: { ...base, data: 'ck-holdout (csv)', sets: [{ name: 'ck-holdout', sameSourceAs: ['ckplus48'], heldOutSubjects: ['S012'] }] },
      metrics: {}, licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
    });
    net.dispose();
  });

  test('default: a warning on stderr and in the JSON and report; only S012 (2 images) scored', () => {
    const out = join(root, '..', 'report');
    const r = cli(root, '--format', 'ckplus48', '--model', model, '--json', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: fixture was trained on 3 of the 5 evaluated samples of ckplus48 \(2 of 3 subjects\) \(its card: ck-holdout\): scoring only the 2 samples it never saw/);
    const j = JSON.parse(r.stdout) as { n: number; split: string; warnings?: string[] };
    assert.equal(j.n, 2);
    assert.match(j.split, /never trained on \(held out\)/);
    assert.match(j.warnings?.[0] ?? '', /trained on 3 of the 5/);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<b>Warning:<\/b> fixture was trained on 3 of the 5/);
  });

  test('--include-seen: all 5 scored, and the warning says the accuracy is not held-out', () => {
    const r = cli(root, '--format', 'ckplus48', '--model', model, '--include-seen');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /the accuracy includes them and is not a held-out accuracy/);
    assert.match(r.stdout, /5 scored/);
  });
});

describe('what `expnet train` records for the card', () => {
  test('held-out splits and people; the same people are recognised under another data set name', () => {
    const manifest = ds('ck-holdout', [{ subject: 'S1', split: 'train' }, { subject: 'S2', split: 'test' }, { subject: 'S3', split: 'train' }, { subject: 'S3', split: 'train' }]);
    const entry = describeTrainingSet('ck-holdout', manifest, [0, 2, 3]);
    assert.deepEqual(entry, { name: 'ck-holdout', heldOutSplits: ['test'], heldOutSubjects: ['S2'], trainedSubjects: ['S1', 'S3'] });
    assert.deepEqual(describeTrainingSet('fer', ds('fer', [{ split: 'Training' }, { split: 'PublicTest' }]), [0]), { name: 'fer', heldOutSplits: ['PublicTest'] });
    const card: ModelTraining = { ...base, sets: [entry] };
    const folder = ds('ckplus48', [{ subject: 'S1' }, { subject: 'S2' }, { subject: 'S3', split: 'test' }]);
    const o = trainingOverlap(card, folder, [0, 1, 2]);
    assert.deepEqual([o?.set.name, o?.seen, o?.unseen], ['ck-holdout', [0, 2], [1]], 'by people; split names of another copy do not count');
    assert.equal(trainingOverlap(card, ds('other', [{ subject: 'S1' }, { subject: 'P9' }]), [0, 1]), null, 'a stranger among them: not the same set');
  });
});
