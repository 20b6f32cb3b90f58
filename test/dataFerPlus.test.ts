import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ExpnetError } from '../src/errors.js';
import { FERPLUS_LABELS, readFerPlus, softTarget } from '../src/data/ferplus.js';
import { concatImageSets, targetsOf, type ImageSet } from '../src/train/imageSet.js';
import { subset } from '../src/train/experiment.js';
import { resolveConfig } from '../src/train/config.js';

const HEADER = 'path,fer2013,ferplus,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF,ferplus_name,rms';
const ROWS = [
  'train/angry/Training_1.jpg,angry,anger,2,0,0,1,7,0,0,0,0,0,fer0000001.png,1.7',
  'train/happy/Training_2.jpg,happy,happiness,0,10,0,0,0,0,0,0,0,0,fer0000002.png,1.1',
  'train/sad/Training_3.jpg,sad,,4,0,0,4,0,0,0,0,2,0,fer0000003.png,1.0',
  'train/neutral/Training_4.jpg,neutral,contempt,3,0,0,0,0,0,0,6,0,1,fer0000004.png,1.2',
  'test/neutral/PublicTest_5.jpg,neutral,neutral,8,0,0,0,0,0,0,2,0,0,fer0000005.png,0.9',
];

let tmp = '';
before(async () => { tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'expnet-ferplus-')); });
after(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

async function csv(name: string, rows: readonly string[], header = HEADER): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'ferplus.csv'), [header, ...rows].join('\n') + '\n');
  return dir;
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ExpnetError && e.code === code && re.test(e.message));
}

describe('FER+ reader', () => {
  test('eight classes: majority labels, votes without unknown/NF, tied rows dropped, splits from the paths', async () => {
    const ds = await readFerPlus(await csv('eight', ROWS));
    assert.deepEqual(ds.labels, FERPLUS_LABELS);
    assert.equal(ds.name, 'ferplus');
    assert.deepEqual(ds.samples.map((s) => s.label), ['anger', 'happy', 'contempt', 'neutral']);
    assert.deepEqual(ds.samples.map((s) => s.split), ['Training', 'Training', 'Training', 'PublicTest']);
    assert.deepEqual(ds.dropped, { 'no majority': 1 });
    assert.equal(ds.samples[0]?.votes?.anger, 7);
    assert.equal(ds.samples[3]?.votes?.contempt, 2);
  });

  test('seven classes: contempt-majority rows dropped and contempt votes ignored', async () => {
    const ds = await readFerPlus(await csv('seven', ROWS), { contempt: false });
    assert.equal(ds.labels.includes('contempt'), false);
    assert.deepEqual(ds.samples.map((s) => s.label), ['anger', 'happy', 'neutral']);
    assert.deepEqual(ds.dropped, { 'no majority': 1, contempt: 1 });
    assert.equal(ds.samples[2]?.votes?.contempt, undefined);
  });

  test('the CSV itself may be given', async () => {
    const dir = await csv('file', ROWS);
    assert.equal((await readFerPlus(path.join(dir, 'ferplus.csv'))).samples.length, 4);
  });

  test('bad files are errors naming file and line', async () => {
    await rejectsWith(readFerPlus(path.join(tmp, 'nowhere')), 'NOT_FOUND', /ferplus\.csv/);
    await rejectsWith(readFerPlus(await csv('badvote', ['train/a/x.jpg,angry,anger,1,0,0,0,x,0,0,0,0,0,f.png,1'])), 'BAD_LABEL_FILE', /ferplus\.csv:2: vote count for anger/);
    await rejectsWith(readFerPlus(await csv('neg', ['train/a/x.jpg,angry,anger,1,0,0,0,-2,0,0,0,0,0,f.png,1'])), 'BAD_LABEL_FILE', /integer ≥ 0/);
    await rejectsWith(readFerPlus(await csv('escape', ['../x.jpg,angry,anger,1,0,0,0,2,0,0,0,0,0,f.png,1'])), 'BAD_LABEL_FILE', /inside/);
    await rejectsWith(readFerPlus(await csv('label', ['train/a/x.jpg,angry,boredom,1,0,0,0,2,0,0,0,0,0,f.png,1'])), 'BAD_LABEL_FILE', /boredom/);
    await rejectsWith(readFerPlus(await csv('nocol', ['train/a/x.jpg,anger'], 'path,ferplus')), 'BAD_LABEL_FILE', /neutral/);
  });
});

describe('soft targets', () => {
  test('votes normalised over the given classes; one-hot without votes', () => {
    const out = new Float32Array(3);
    softTarget({ label: 'happy', votes: { happy: 6, neutral: 2, contempt: 2 } }, ['happy', 'neutral', 'sadness'], out, 0);
    assert.deepEqual(Array.from(out), [0.75, 0.25, 0]);
    softTarget({ label: 'sadness' }, ['happy', 'neutral', 'sadness'], out, 0);
    assert.deepEqual(Array.from(out), [0, 0, 1]);
  });

  const set = (y: number[], soft?: number[]): ImageSet => ({
    x: new Float32Array(y.length), y: Int32Array.from(y), sampleIndex: y.map((_, i) => i), shape: { channels: 1, height: 1, width: 1 }, skipped: [],
    ...(soft ? { soft: Float32Array.from(soft) } : {}),
  });

  test('concatenation gives hard-label sets one-hot rows (unlabelled faces zeros); subsets keep theirs', () => {
    const all = concatImageSets([set([0, 1], [0.5, 0.5, 0, 1]), set([1, -1])]);
    assert.deepEqual(Array.from(all.soft ?? []), [0.5, 0.5, 0, 1, 0, 1, 0, 0]);
    assert.equal(concatImageSets([set([0]), set([1])]).soft, undefined);
    assert.deepEqual(Array.from(subset(set([0, 1], [0.5, 0.5, 0, 1]), [1]).soft ?? []), [0, 1]);
  });

  test('targetsOf: probabilities with soft targets, class indices otherwise', () => {
    const s = set([0, 1], [0.5, 0.5, 0, 1]);
    const soft = targetsOf(s, [1, 0], true);
    const hard = targetsOf(s, [1, 0], false);
    try {
      assert.deepEqual(soft.shape, [2, 2]);
      assert.deepEqual(Array.from(soft.floats()), [0, 1, 0.5, 0.5]);
      assert.equal(hard.dtype, 'int64');
    } finally {
      soft.dispose();
      hard.dispose();
    }
  });

  test('config.labelTargets: distribution by default, majority selectable, others rejected', () => {
    assert.equal(resolveConfig().labelTargets, 'distribution');
    assert.equal(resolveConfig({ labelTargets: 'majority' }).labelTargets, 'majority');
    assert.throws(() => resolveConfig({ labelTargets: 'soft' }), /config\.labelTargets/);
  });
});
