import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ExpnetError } from '../src/errors.js';
import { readCkPlus } from '../src/data/ckplus.js';
import { readCkPlus48 } from '../src/data/ckplus48.js';
import { dataRoot } from '../src/data/dataRoot.js';
import { readCsvManifest } from '../src/data/csvManifest.js';
import { decodeSampleBytes } from '../src/data/decode.js';
import { readFer2013 } from '../src/data/fer2013.js';
import { readImageFolder } from '../src/data/imageFolder.js';
import { readJaffe } from '../src/data/jaffe.js';
import { CKPLUS48_LABELS, CKPLUS_LABELS, FER2013_LABELS, canonicalLabel, modelLabels } from '../src/data/labels.js';
import { readOuluCasia } from '../src/data/ouluCasia.js';
import { readSfew } from '../src/data/sfew.js';
import { readTfd } from '../src/data/tfd.js';

let tmp = '';
before(async () => { tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'expnet-readers-')); });
after(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

/** Writes a tiny gray image (format from the extension) or a text file, creating folders. */
async function put(rel: string, text?: string): Promise<string> {
  const file = path.join(tmp, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  if (text !== undefined) await fs.writeFile(file, text);
  else await sharp(Buffer.from([10, 20, 30, 40]), { raw: { width: 2, height: 2, channels: 1 } }).toFile(file);
  return file;
}

/** Asserts an ExpnetError with the code whose message matches every pattern. */
async function rejectsWith(p: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ExpnetError, String(e));
    assert.equal(e.code, code);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

test('canonicalLabel maps synonyms and names the source of unknown labels', () => {
  assert.equal(canonicalLabel('Angry', 'x'), 'anger');
  assert.equal(canonicalLabel(' sad ', 'x'), 'sadness');
  assert.equal(canonicalLabel('Happiness', 'x'), 'happy');
  assert.throws(() => canonicalLabel('bored', 'file.csv:7'), /file\.csv:7.*bored/);
});

test('modelLabels takes a card\'s exact canonical labels and rejects others, naming the card', () => {
  assert.deepEqual(modelLabels([...FER2013_LABELS], 'card.json'), FER2013_LABELS);
  for (const bad of [['happy', 'Angry'], ['happy', 3], []]) {
    assert.throws(() => modelLabels(bad, 'card.json'), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_MODEL' && /card\.json/.test(e.message));
  }
});

describe('CK+ original layout', () => {
  const root = (): string => path.join(tmp, 'ckplus');
  before(async () => {
    for (let f = 1; f <= 5; f++) await put(`ckplus/cohn-kanade-images/S005/001/S005_001_0000000${f}.png`);
    for (let f = 1; f <= 4; f++) await put(`ckplus/cohn-kanade-images/S010/002/S010_002_0000001${f}.png`);
    for (let f = 1; f <= 4; f++) await put(`ckplus/cohn-kanade-images/S010/003/S010_003_0000000${f}.png`);
    await put('ckplus/cohn-kanade-images/S005/001/.DS_Store', 'junk');
    await put('ckplus/Emotion/S005/001/S005_001_00000005_emotion.txt', '   3.0000000e+00\n');
    await put('ckplus/Emotion/S010/002/S010_002_00000014_emotion.txt', '   7.0000000e+00\n');
  });

  test('last 3 frames of each labelled sequence, subject and sequence ids', async () => {
    const ds = await readCkPlus(root());
    assert.deepEqual(ds.labels, CKPLUS48_LABELS);
    assert.deepEqual(ds.samples.map((s) => [s.path, s.label, s.subject, s.sequence, s.frame]), [
      ['cohn-kanade-images/S005/001/S005_001_00000003.png', 'disgust', 'S005', 'S005_001', 3],
      ['cohn-kanade-images/S005/001/S005_001_00000004.png', 'disgust', 'S005', 'S005_001', 4],
      ['cohn-kanade-images/S005/001/S005_001_00000005.png', 'disgust', 'S005', 'S005_001', 5],
      ['cohn-kanade-images/S010/002/S010_002_00000012.png', 'surprise', 'S010', 'S010_002', 12],
      ['cohn-kanade-images/S010/002/S010_002_00000013.png', 'surprise', 'S010', 'S010_002', 13],
      ['cohn-kanade-images/S010/002/S010_002_00000014.png', 'surprise', 'S010', 'S010_002', 14],
    ]);
  });

  test('neutralFirstFrame adds each first frame as neutral → 8 classes', async () => {
    const ds = await readCkPlus(root(), { neutralFirstFrame: true });
    assert.deepEqual(ds.labels, CKPLUS_LABELS);
    const neutral = ds.samples.filter((s) => s.label === 'neutral');
    assert.deepEqual(neutral.map((s) => s.frame), [1, 11]);
    assert.equal(ds.samples.length, 8);
  });

  test('an emotion file that does not parse → BAD_LABEL_FILE with file and line', async () => {
    await put('ckplus-bad/cohn-kanade-images/S001/001/S001_001_00000001.png');
    const bad = await put('ckplus-bad/Emotion/S001/001/S001_001_00000001_emotion.txt', '\n  happy\n');
    await rejectsWith(readCkPlus(path.join(tmp, 'ckplus-bad')), 'BAD_LABEL_FILE', new RegExp(`${path.basename(bad)}:2`));
    await fs.writeFile(bad, '9.0\n');
    await rejectsWith(readCkPlus(path.join(tmp, 'ckplus-bad')), 'BAD_LABEL_FILE', /:1: expected one emotion code 0\.\.7/);
  });
});

describe('CK+48', () => {
  test('folder names parsed into subject/sequence/frame; manifest preferred when present', async () => {
    await put('ck48/anger/S010_004_00000017.png');
    await put('ck48/happy/S011_006_00000021.png');
    const ds = await readCkPlus48(path.join(tmp, 'ck48'));
    assert.deepEqual(ds.labels, CKPLUS48_LABELS);
    assert.deepEqual(ds.samples[0], { path: 'anger/S010_004_00000017.png', label: 'anger', subject: 'S010', sequence: 'S010_004', frame: 17 });
    await put('ck48/manifest.csv', 'path,label,subject,sequence,frame\nhappy/S011_006_00000021.png,happy,S011,S011_006,21\n');
    const fromManifest = await readCkPlus48(path.join(tmp, 'ck48'));
    assert.deepEqual(fromManifest.samples, [{ path: 'happy/S011_006_00000021.png', label: 'happy', subject: 'S011', sequence: 'S011_006', frame: 21 }]);
    assert.equal((await readCkPlus48(path.join(tmp, 'ck48'), { manifest: false })).samples.length, 2);
  });
});

describe('FER2013', () => {
  test('official CSV: emotion codes, pixels, Usage; bad rows name file and line', async () => {
    const csv = await put('fer/fer2013.csv', 'emotion,pixels,Usage\n0,1 2 3 4,Training\n6,"5 6 7 8",PrivateTest\r\n');
    const ds = await readFer2013(csv);
    assert.deepEqual(ds.labels, FER2013_LABELS);
    assert.deepEqual(ds.samples.map((s) => [s.path, s.label, s.split]), [['fer2013.csv:2', 'anger', 'Training'], ['fer2013.csv:3', 'neutral', 'PrivateTest']]);
    assert.deepEqual([...(ds.samples[1]?.pixels?.data ?? [])], [5, 6, 7, 8]);
    const s1 = ds.samples[0];
    assert.ok(s1 !== undefined);
    assert.deepEqual([...(await decodeSampleBytes(ds, s1, { channels: 1, size: [2, 2] }))], [1, 2, 3, 4]);
    assert.equal((await readFer2013(path.join(tmp, 'fer'))).samples.length, 2, 'folder holding fer2013.csv');
    await fs.writeFile(csv, 'emotion,pixels,Usage\n0,1 2 3 4,Training\n7,1 2 3 4,Training\n');
    await rejectsWith(readFer2013(csv), 'BAD_LABEL_FILE', /fer2013\.csv:3: expected emotion 0\.\.6/);
    await fs.writeFile(csv, 'emotion,pixels,Usage\n0,1 2 3,Training\n');
    await rejectsWith(readFer2013(csv), 'BAD_LABEL_FILE', /fer2013\.csv:2: expected a square/);
  });

  test('Kaggle folders: split from file prefix, manifest used when present', async () => {
    await put('ferk/train/angry/Training_1.jpg');
    await put('ferk/test/happy/PublicTest_2.jpg');
    await put('ferk/test/sad/PrivateTest_3.jpg');
    const ds = await readFer2013(path.join(tmp, 'ferk'));
    assert.deepEqual(ds.samples.map((s) => [s.path, s.label, s.split]), [
      ['train/angry/Training_1.jpg', 'anger', 'Training'],
      ['test/happy/PublicTest_2.jpg', 'happy', 'PublicTest'],
      ['test/sad/PrivateTest_3.jpg', 'sadness', 'PrivateTest'],
    ]);
    await put('ferk/manifest.csv', 'path,label,usage\ntrain/angry/Training_1.jpg,angry,Training\n');
    assert.deepEqual((await readFer2013(path.join(tmp, 'ferk'))).samples, [{ path: 'train/angry/Training_1.jpg', label: 'anger', split: 'Training' }]);
  });
});

test('JAFFE: subject and expression code from the file name', async () => {
  await put('jaffe/KA.AN1.39.tiff');
  await put('jaffe/NA.SU1.79.tiff');
  await put('jaffe/README', 'not an image');
  const ds = await readJaffe(path.join(tmp, 'jaffe'));
  assert.deepEqual(ds.samples.map((s) => [s.label, s.subject, s.frame]), [['anger', 'KA', 39], ['surprise', 'NA', 79]]);
  await put('jaffe/KA.XX1.40.tiff');
  await rejectsWith(readJaffe(path.join(tmp, 'jaffe')), 'BAD_LABEL_FILE', /KA\.XX1\.40\.tiff/);
});

test('Oulu-CASIA: VL/Strong sequences, last 3 frames by number', async () => {
  for (let f = 0; f < 12; f++) await put(`oulu/VL/Strong/P001/Anger/${String(f).padStart(3, '0')}.jpeg`);
  for (let f = 0; f < 4; f++) await put(`oulu/VL/Strong/P002/Happiness/${String(f).padStart(3, '0')}.jpeg`);
  await put('oulu/NI/Strong/P001/Fear/000.jpeg');
  const ds = await readOuluCasia(path.join(tmp, 'oulu'));
  assert.deepEqual(ds.samples.map((s) => [s.label, s.subject, s.frame]), [
    ['anger', 'P001', 9], ['anger', 'P001', 10], ['anger', 'P001', 11],
    ['happy', 'P002', 1], ['happy', 'P002', 2], ['happy', 'P002', 3],
  ]);
  assert.deepEqual((await readOuluCasia(path.join(tmp, 'oulu'), { spectrum: 'NI' })).samples.map((s) => s.label), ['fear']);
  await rejectsWith(readOuluCasia(path.join(tmp, 'oulu'), { illumination: 'Dark' }), 'NOT_FOUND', /VL\/Dark/);
});

test('SFEW 2.0: Train/Val expression folders, with or without an intermediate folder', async () => {
  await put('sfew/Train/Angry/a.png');
  await put('sfew/Val/Val_Aligned_Faces/Sad/b.png');
  const ds = await readSfew(path.join(tmp, 'sfew'));
  assert.deepEqual(ds.samples.map((s) => [s.path, s.label, s.split]), [
    ['Train/Angry/a.png', 'anger', 'Train'], ['Val/Val_Aligned_Faces/Sad/b.png', 'sadness', 'Val'],
  ]);
  // SFEW's tight crops are re-framed onto the pipeline's template when decoded (eyes higher than FER2013's).
  assert.ok(ds.framing && ds.framing.leftEye.y < 0.3 && ds.framing.rightEye.x - ds.framing.leftEye.x > 0.4);
});

test('TFD CSV: codes, unlabelled rows skipped, fold column → split', async () => {
  const csv = await put('tfd/tfd.csv', 'label,subject,pixels,fold1,fold2\n1,7,1 2 3 4,1,3\n-1,8,1 2 3 4,0,0\n7,9,1 2 3 4,2,0\n');
  const f1 = await readTfd(csv);
  assert.deepEqual(f1.samples.map((s) => [s.label, s.subject, s.split]), [['anger', '7', 'train'], ['neutral', '9', 'valid']]);
  const f2 = await readTfd(csv, { fold: 2 });
  assert.deepEqual(f2.samples.map((s) => [s.label, s.split]), [['anger', 'test']]);
  await fs.writeFile(csv, 'label,pixels\n1,1 2 3 4\n9,1 2 3 4\n');
  await rejectsWith(readTfd(csv), 'BAD_LABEL_FILE', /tfd\.csv:3/);
});

test('generic class folders and CSV manifest', async () => {
  await put('generic/Angry/x.png');
  await put('generic/surprised/nested/y.png');
  const ds = await readImageFolder(path.join(tmp, 'generic'));
  assert.deepEqual(ds.labels, ['anger', 'surprise']);
  assert.deepEqual(ds.samples.map((s) => s.path), ['Angry/x.png', 'surprised/nested/y.png']);
  await put('generic/bored/z.png');
  await rejectsWith(readImageFolder(path.join(tmp, 'generic')), 'BAD_LABEL_FILE', /bored/);
  const csv = await put('manifest/list.csv', 'path,label,subject\nimg/a.png,happy,p1\n"img/b,c.png",sad,p2\n');
  const m = await readCsvManifest(csv);
  assert.deepEqual(m.samples, [{ path: 'img/a.png', label: 'happy', subject: 'p1' }, { path: 'img/b,c.png', label: 'sadness', subject: 'p2' }]);
  assert.equal(m.root, path.dirname(csv));
  await fs.writeFile(csv, 'path,label\na.png,happy\nb.png,meh\n');
  await rejectsWith(readCsvManifest(csv), 'BAD_LABEL_FILE', /list\.csv:3.*meh/);
  await fs.writeFile(csv, 'path,label\na.png,happy,extra\n');
  await rejectsWith(readCsvManifest(csv), 'BAD_LABEL_FILE', /list\.csv:2: expected 2 fields/);
  await fs.writeFile(csv, 'file,label\na.png,happy\n');
  await rejectsWith(readCsvManifest(csv), 'BAD_LABEL_FILE', /column 'path'/);
});

describe('real data (EXPNET_DATA)', () => {
  const data = dataRoot();
  const ck = path.join(data, 'ckplus48');
  const fer = path.join(data, 'fer2013');
  test('CK+48: 981 images, 327 sequences, 118 subjects', { skip: existsSync(ck) ? false : `${ck} absent (set EXPNET_DATA)` }, async () => {
    const ds = await readCkPlus48(ck);
    assert.equal(ds.samples.length, 981);
    assert.equal(new Set(ds.samples.map((s) => s.sequence)).size, 327);
    assert.equal(new Set(ds.samples.map((s) => s.subject)).size, 118);
    const folders = await readCkPlus48(ck, { manifest: false });
    assert.deepEqual(folders.samples.map((s) => s.path).sort(), ds.samples.map((s) => s.path).sort());
  });
  test('FER2013 folders: 28709 Training + 3589 PublicTest', { skip: existsSync(fer) ? false : `${fer} absent (set EXPNET_DATA)` }, async () => {
    for (const manifest of [true, false]) {
      const ds = await readFer2013(fer, { manifest });
      assert.equal(ds.samples.filter((s) => s.split === 'Training').length, 28709);
      assert.equal(ds.samples.filter((s) => s.split === 'PublicTest').length, 3589);
    }
  });
});
