import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataRoot } from '../src/data/dataRoot.js';
import { detectFormat, type DataFormat } from '../src/data/detectFormat.js';
import { ExpnetError } from '../src/errors.js';
import { readDataSet } from '../src/train/experiment.js';
import { prepareRun } from '../src/cli/trainArgs.js';

let tmp = '';
before(async () => { tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'expnet-detect-')); });
after(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

/** Creates the files under tmp: a string is the file's text; images are empty (detection and reading only list names). */
async function put(files: Readonly<Record<string, string>>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(tmp, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
  }
}

const FER_CSV = 'emotion,pixels,Usage\n0,1 2 3 4,Training\n3,5 6 7 8,PublicTest\n';

interface Case {
  name: string;
  files: Record<string, string>;
  /** Path given to --data, relative to tmp. */
  data: string;
  format: DataFormat;
  /** Samples the format's reader finds there (checks the detected format is one that reads the data). */
  samples: number;
}

const CASES: Case[] = [
  { name: 'CK+48 class folders of S###_###_########.png', data: 'c48', format: 'ckplus48', samples: 2,
    files: { 'c48/anger/S010_004_00000017.png': '', 'c48/happy/S011_001_00000005.png': '', 'c48/SOURCE.txt': 'x' } },
  { name: 'CK+ original layout', data: 'ck', format: 'ckplus', samples: 1,
    files: { 'ck/cohn-kanade-images/S005/001/S005_001_00000001.png': '', 'ck/Emotion/S005/001/S005_001_00000001_emotion.txt': '3\n' } },
  { name: 'CK+ zip layout', data: 'ckzip', format: 'ckplus', samples: 1,
    files: {
      'ckzip/extended-cohn-kanade-images/cohn-kanade-images/S005/001/S005_001_00000001.png': '',
      'ckzip/Emotion_labels/Emotion/S005/001/S005_001_00000001_emotion.txt': '3\n',
    } },
  { name: 'FER2013 folder form under a name without "fer"', data: 'kaggle-faces', format: 'fer2013', samples: 2,
    files: { 'kaggle-faces/train/angry/Training_1.jpg': '', 'kaggle-faces/test/happy/PublicTest_2.jpg': '' } },
  { name: 'FER2013 CSV under any name', data: 'pixels-dump.csv', format: 'fer2013', samples: 2, files: { 'pixels-dump.csv': FER_CSV } },
  { name: 'FER2013 CSV with icml_face_data.csv column order', data: 'icml.csv', format: 'fer2013', samples: 1,
    files: { 'icml.csv': 'emotion, Usage, pixels\n0,Training,1 2 3 4\n' } },
  { name: 'folder holding fer2013.csv', data: 'kaggle-csv', format: 'fer2013', samples: 2, files: { 'kaggle-csv/fer2013.csv': FER_CSV } },
  { name: 'JAFFE images', data: 'jf', format: 'jaffe', samples: 2, files: { 'jf/KA.AN1.39.tiff': '', 'jf/KM.HA2.5.tiff': '', 'jf/README': 'x' } },
  { name: 'JAFFE images one folder down', data: 'jf2', format: 'jaffe', samples: 1, files: { 'jf2/jaffe/KA.SU1.40.tiff': '' } },
  { name: 'Oulu-CASIA layout', data: 'ou', format: 'oulu', samples: 1, files: { 'ou/VL/Strong/P001/Anger/000.jpeg': '' } },
  { name: 'Oulu-CASIA under OriginalImg/', data: 'ou2', format: 'oulu', samples: 1, files: { 'ou2/OriginalImg/VL/Strong/P002/Happiness/007.jpeg': '' } },
  { name: 'SFEW 2.0 Train/ and Val/ (sfew2)', data: 'sfew2', format: 'sfew', samples: 2,
    files: { 'sfew2/Train/Angry/Airheads_000519240_00000005.png': '', 'sfew2/Val/Sad/Hangover_000100000_00000001.png': '', 'sfew2/SOURCE.txt': 'x' } },
  { name: 'SFEW 2.0 with *_Aligned_Faces/ folders, neutral name', data: 'movies', format: 'sfew', samples: 2,
    files: { 'movies/Train/Train_Aligned_Faces/Happy/A_1_1.png': '', 'movies/Val/Val_Aligned_Faces/Fear/B_1_1.png': '' } },
  { name: 'TFD export with pixels and folds', data: 'tfd-export.csv', format: 'tfd', samples: 1,
    files: { 'tfd-export.csv': 'label,subject,pixels,fold1\n1,7,1 2 3 4,1\n' } },
  { name: 'TFD export with paths and label codes', data: 'faces48.csv', format: 'tfd', samples: 1,
    files: { 'faces48.csv': 'path,label,subject\nimg/a.png,4,12\n' } },
  { name: 'class folders', data: 'generic', format: 'folder', samples: 2, files: { 'generic/Angry/x.png': '', 'generic/surprised/n/y.png': '' } },
  { name: 'CSV manifest', data: 'list.csv', format: 'csv', samples: 1, files: { 'list.csv': 'path,label,subject\nimg/a.png,happy,p1\n' } },
  // Names that used to decide the format (any "fer", "ckplus48" in a CSV name, "sfew2" read as class folders):
  { name: 'transfer-set/ with class folders is a folder set', data: 'transfer-set', format: 'folder', samples: 2,
    files: { 'transfer-set/happy/a.png': '', 'transfer-set/sad/b.png': '' } },
  { name: 'referee.csv with path,label is a manifest', data: 'referee.csv', format: 'csv', samples: 1, files: { 'referee.csv': 'path,label\na.png,sad\n' } },
  { name: 'fer2013-mine/<class>/ is a folder set', data: 'fer2013-mine', format: 'folder', samples: 1, files: { 'fer2013-mine/angry/a.png': '' } },
  { name: 'ckplus48.csv with path,label is a manifest', data: 'ckplus48.csv', format: 'csv', samples: 1,
    files: { 'ckplus48.csv': 'path,label,subject\nanger/S010_004_00000017.png,anger,S010\n' } },
];

describe('detectFormat by content', () => {
  before(async () => { for (const c of CASES) await put(c.files); });
  for (const c of CASES) {
    test(`${c.name} → ${c.format}`, async () => {
      const data = path.join(tmp, c.data);
      const detected = detectFormat(data);
      assert.equal(detected.format, c.format, detected.reason);
      assert.ok(detected.reason.length > 0);
      const ds = await readDataSet(detected.format, data);
      assert.equal(ds.samples.length, c.samples);
    });
  }
});

test('detectFormat falls back on the name only when the content matches no layout', async () => {
  await put({ 'my-sfew/notes.txt': 'x', 'fer2013-empty/readme.md': 'x' });
  assert.deepEqual(
    [detectFormat(path.join(tmp, 'my-sfew')).format, detectFormat(path.join(tmp, 'fer2013-empty')).format],
    ['sfew', 'fer2013'],
  );
  assert.match(detectFormat(path.join(tmp, 'my-sfew')).reason, /name/);
});

test('expnet train/cv without --format: the run uses and records the detected format; a config error comes first', () => {
  const out = path.join(tmp, 'run-sfew');
  const run = prepareRun({ data: path.join(tmp, 'sfew2'), out, quiet: true }, out, 'expnet train');
  assert.equal(run.format, 'sfew');
  assert.equal((JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as { format: string }).format, 'sfew');
  throwsWith(() => prepareRun({ data: path.join(tmp, 'nothing-here'), set: ['bogus=1'], quiet: true }, path.join(tmp, 'run-x'), 'expnet train'), 'BAD_CONFIG');
  throwsWith(() => prepareRun({ data: path.join(tmp, 'nothing-here'), quiet: true }, path.join(tmp, 'run-y'), 'expnet train'), 'NOT_FOUND', /nothing-here/);
  assert.ok(!existsSync(path.join(tmp, 'run-y')), 'no run folder for data that is not there');
});

/** Asserts an ExpnetError with the code whose message matches every pattern. */
function throwsWith(fn: () => unknown, code: string, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ExpnetError, String(e));
    assert.equal(e.code, code);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

describe('detectFormat errors list what was found and name --format', () => {
  before(async () => {
    await put({
      'photos/a.png': '', 'photos/b.png': '', 'photos/misc/c.png': '',
      'lists/manifest.csv': 'path,label\na.png,happy\n',
      'odd.csv': 'file,emotion_name\na.png,happy\n',
      'empty/.DS_Store': '',
    });
  });
  test('a folder of unlabelled images', () => {
    throwsWith(() => detectFormat(path.join(tmp, 'photos')), 'BAD_INPUT', /photos: cannot tell/, /folders misc\//, /files a\.png, b\.png/, /--format/, /ckplus48, ckplus, fer2013/);
  });
  test('a folder holding only a CSV shows its header', () => {
    throwsWith(() => detectFormat(path.join(tmp, 'lists')), 'BAD_INPUT', /manifest\.csv header "path,label"/, /--format/);
  });
  test('a CSV with an unknown header', () => {
    throwsWith(() => detectFormat(path.join(tmp, 'odd.csv')), 'BAD_INPUT', /odd\.csv/, /CSV header "file,emotion_name"/, /path,label/, /--format/);
  });
  test('an empty folder, a missing path, an image', () => {
    throwsWith(() => detectFormat(path.join(tmp, 'empty')), 'BAD_INPUT', /an empty folder/);
    throwsWith(() => detectFormat(path.join(tmp, 'nothing-here')), 'NOT_FOUND', /nothing-here/);
    throwsWith(() => detectFormat(path.join(tmp, 'photos', 'a.png')), 'BAD_INPUT', /a\.png: an image/);
  });
});

describe('real data (EXPNET_DATA)', () => {
  const data = dataRoot();
  const expected: [string, DataFormat][] = [['ckplus48', 'ckplus48'], ['fer2013', 'fer2013'], ['sfew2', 'sfew']];
  for (const [folder, format] of expected) {
    const dir = path.join(data, folder);
    test(`${folder} is detected as ${format}`, { skip: existsSync(dir) ? false : `${dir} absent (set EXPNET_DATA)` }, () => {
      assert.equal(detectFormat(dir).format, format);
    });
  }
});
