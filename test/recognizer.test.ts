import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { bundleCommand } from '../src/cli/export.js';
import { packageRoot } from '../src/engine/native.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel } from '../src/nets/modelCard.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL } from '../src/infer/modelBundle.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { pngBomb } from './serveFixtures.js';

const astronaut = join(packageRoot(), 'examples', 'astronaut.png');
const LABELS = ['anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise', 'neutral'];

describe('recognizer (detect → landmarks → align → classify on ONNX Runtime)', () => {
  let dir: string;
  let rec: Recognizer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expnet-bundle-'));
    const m = new ExpNet({ numClasses: LABELS.length }).eval();
    const modelPath = join(dir, 'model.safetensors');
    saveExpNetModel(modelPath, m, {
      name: 'test', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' },
      labels: LABELS, config: m.config, method: 'scratch', training: { data: 'none', command: 'test', seed: 0, epochs: {} },
      metrics: {}, licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
    });
    m.dispose();
    assert.equal(await bundleCommand(['--model', modelPath, '--out', dir, '--name', 'test-model']), 0);
    rec = await createRecognizer({ modelDir: dir, expressionModel: 'test-model' });
  });
  after(async () => rec?.dispose());

  test('finds the astronaut face, with 68 landmarks and a probability per label', async () => {
    const r = await rec.detect(astronaut);
    assert.equal(r.faces.length, 1);
    const f = r.faces[0]!;
    assert.ok(f.box.x > 150 && f.box.x < 210 && f.box.width > 60 && f.box.width < 120, JSON.stringify(f.box));
    assert.equal(f.landmarks.length, 68);
    assert.deepEqual(Object.keys(f.expressions), LABELS);
    const sum = Object.values(f.expressions).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4);
    assert.equal(f.label, LABELS[Object.values(f.expressions).indexOf(Math.max(...Object.values(f.expressions)))]);
  });

  test('no face is an empty result, not an error', async () => {
    const blank = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 30, g: 120, b: 200 } } }).png().toBuffer();
    assert.deepEqual((await rec.detect(blank)).faces, []);
  });

  test('gray, RGBA, CMYK, 16-bit, EXIF-rotated and animated inputs are handled', async () => {
    const src = sharp(astronaut);
    const variants: Record<string, Buffer> = {
      gray: await src.clone().grayscale().png().toBuffer(),
      rgba: await src.clone().ensureAlpha().png().toBuffer(),
      cmyk: await src.clone().toColourspace('cmyk').jpeg().toBuffer(),
      sixteen: await src.clone().toColourspace('rgb16').png().toBuffer(),
      gif: await src.clone().gif().toBuffer(),
    };
    for (const [name, buf] of Object.entries(variants)) assert.equal((await rec.detect(buf)).faces.length, 1, name);
    // Stored rotated 90° clockwise with EXIF orientation 8: shown upright, 512×512 either way, face found.
    const rotated = await src.clone().rotate(90).withMetadata({ orientation: 8 }).jpeg().toBuffer();
    const r = await rec.detect(rotated);
    assert.equal(r.faces.length, 1);
    assert.ok(Math.abs(r.faces[0]!.box.x - 181) < 15, `EXIF orientation honoured: box ${JSON.stringify(r.faces[0]!.box)}`);
  });

  test('broken inputs are clear errors naming the input', async () => {
    const d = mkdtempSync(join(tmpdir(), 'expnet-bad-'));
    const jpeg = await sharp(astronaut).jpeg().toBuffer();
    const bad: Record<string, Buffer> = {
      'empty.png': Buffer.alloc(0),
      'truncated.jpg': jpeg.subarray(0, jpeg.length >> 1),
      'text.png': Buffer.from('this is not an image\n'),
      'huge.png': pngBomb(60000, 60000),
    };
    for (const [name, buf] of Object.entries(bad)) {
      const p = join(d, name);
      writeFileSync(p, buf);
      await assert.rejects(rec.detect(p), (e: Error) => e.message.includes(p) && (e as { code?: string }).code === 'BAD_IMAGE', name);
    }
    await assert.rejects(rec.detect(join(d, 'missing.png')), /missing\.png/);
  });

  test('1,000 crop predictions do not grow memory (no native/ORT leak)', async () => {
    const crop = await sharp(astronaut).extract({ left: 180, top: 70, width: 90, height: 110 }).png().toBuffer();
    for (let i = 0; i < 100; i++) await rec.classifyCrop(crop);
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) await rec.classifyCrop(crop);
    const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(grown < 40, `RSS grew by ${grown.toFixed(1)} MiB over 1,000 predictions`);
  });

  test('CLI: table, JSON, CSV, exit codes for unreadable files and missing inputs', () => {
    const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    const run = (...args: string[]) => spawnSync(process.execPath, [...process.execArgv, main, 'predict', '--models', dir, '--model', 'test-model', ...args], { encoding: 'utf8' });
    const t = run(astronaut);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^file +face +box/);
    assert.match(t.stdout, /astronaut\.png +1 +\d+,\d+ \d+×\d+ /);
    const j = run('--json', astronaut);
    const parsed = JSON.parse(j.stdout) as { labels: string[]; results: { faces: unknown[] }[] };
    assert.deepEqual(parsed.labels, LABELS);
    assert.equal(parsed.results[0]?.faces.length, 1);
    const c = run('--csv', astronaut);
    assert.equal(c.stdout.trim().split('\n').length, 2);
    const badFile = join(mkdtempSync(join(tmpdir(), 'expnet-cli-')), 'bad.jpg');
    writeFileSync(badFile, 'nope');
    const b = run(astronaut, badFile);
    assert.equal(b.status, 4);
    assert.match(b.stderr, /bad\.jpg/);
    assert.equal(b.stderr.split('bad.jpg').length, 2, `the path once: ${b.stderr}`);
    const bj = JSON.parse(run('--json', '--no-landmarks', astronaut, badFile).stdout) as { results: { input: string; error?: string; faces: { landmarks?: unknown }[] }[] };
    assert.equal(bj.results.length, 2, 'the failed input has its entry');
    assert.match(bj.results[1]?.error ?? '', /not a readable image/);
    assert.equal(bj.results[0]?.faces[0]?.landmarks, undefined);
    const bc = run('--csv', astronaut, badFile).stdout.trim().split('\n');
    assert.equal(bc.length, 3);
    assert.match(bc[2] ?? '', /bad\.jpg,0,.*,not a readable image/);
    assert.equal(run(join(tmpdir(), 'expnet-no-such-*.png')).status, 3);
    const exact = run('--json', '--detector-size', '512', '--detector-precision', 'float32', astronaut);
    assert.equal(exact.status, 0, exact.stderr);
    assert.equal((JSON.parse(exact.stdout) as { results: { faces: unknown[] }[] }).results[0]?.faces.length, 1);
    assert.equal(run('--detector-precision', 'int4', astronaut).status, 2);
    assert.equal(run('--detector-size', '500', astronaut).status, 2);
    const ann = mkdtempSync(join(tmpdir(), 'expnet-ann-'));
    assert.equal(run('--annotate', ann, astronaut).status, 0);
    assert.ok(readFileSync(join(ann, 'astronaut.annotated.png')).length > 1000);
  });

  test('the bundled default model says the smiling astronaut is happy', { skip: !existsSync(join(bundledModelDir(), `${DEFAULT_EXPRESSION_MODEL}.onnx`)) && 'the default model is not bundled' }, async () => {
    const def = await createRecognizer();
    const r = await def.detect(astronaut);
    await def.dispose();
    assert.equal(r.faces.length, 1);
    assert.equal(r.faces[0]!.label, 'happy');
  });
});
