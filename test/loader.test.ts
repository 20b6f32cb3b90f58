import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_AUGMENT } from '../src/data/augment.js';
import type { DataSet } from '../src/data/dataSet.js';
import { readImageFolder } from '../src/data/imageFolder.js';
import { BatchLoader, type Batch, type LoaderOptions } from '../src/data/loader.js';
import { Rng } from '../src/data/rng.js';

let tmp = '';
let ds: DataSet;
const decode = { channels: 1, size: [4, 4] } as const;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'expnet-loader-'));
  // 7 good images (uniform gray level 10·k) in two classes, plus one corrupt file.
  for (let k = 0; k < 7; k++) {
    const dir = path.join(tmp, k % 2 === 0 ? 'happy' : 'sad');
    await fs.mkdir(dir, { recursive: true });
    await sharp(Buffer.alloc(16, 10 * (k + 1)), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(path.join(dir, `img${k}.png`));
  }
  await fs.writeFile(path.join(tmp, 'sad', 'broken.png'), 'not an image at all');
  ds = await readImageFolder(tmp);
});
after(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

async function collect(loader: BatchLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch()) out.push(b);
  return out;
}
const all = (): number[] => ds.samples.map((_, i) => i);
const make = (o: Partial<LoaderOptions>): BatchLoader => new BatchLoader({ dataSet: ds, indices: all(), decode, batchSize: 3, ...o });

test('batches in order, corrupt file skipped with one warning and counted', async () => {
  const warnings: string[] = [];
  const loader = make({ onWarn: (message, file) => warnings.push(`${file}|${message}`) });
  const batches = await collect(loader);
  assert.deepEqual(batches.map((b) => b.indices.length), [3, 3, 1]);
  assert.equal(loader.skipped, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /broken\.png\|skipping undecodable image: .*broken\.png/);
  assert.match(loader.skippedFiles[0]?.file ?? '', /sad[/\\]broken\.png$/);
  const broken = ds.samples.findIndex((s) => s.path.endsWith('broken.png'));
  const seen = batches.flatMap((b) => b.indices);
  assert.deepEqual(seen, all().filter((i) => i !== broken));
  for (const b of batches) {
    assert.equal(b.x.length, b.indices.length * 16);
    b.indices.forEach((i, n) => {
      const sample = ds.samples[i];
      assert.equal(b.y[n], ds.labels.indexOf(sample?.label ?? 'happy'));
      const level = Number(/img(\d)/.exec(sample?.path ?? '')?.[1]) + 1;
      assert.ok(Math.abs((b.x[n * 16] ?? 0) - (10 * level) / 255) < 1e-6, `pixel of ${sample?.path}`);
    });
  }
  await collect(loader); // second epoch: from the cache, no new warning
  assert.equal(warnings.length, 1);
  assert.equal(loader.skipped, 1);
  assert.equal(loader.cached, 7);
  assert.deepEqual((await collect(make({ dropLast: true }))).map((b) => b.indices.length), [3, 3]);
});

test('shuffling + augmentation are deterministic for a seed and resumable from the rng state', async () => {
  const run = async (seed: number, epochs: number): Promise<Batch[][]> => {
    const loader = make({ rng: new Rng(seed), augment: DEFAULT_AUGMENT, prefetchBatches: 1 });
    const out: Batch[][] = [];
    for (let e = 0; e < epochs; e++) out.push(await collect(loader));
    return out;
  };
  const a = await run(42, 2);
  const b = await run(42, 2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0], a[1], 'a new order/augmentation each epoch');
  assert.notDeepEqual((await run(43, 1))[0], a[0]);
  // Resume: an rng restored from the state after epoch 1 reproduces epoch 2.
  const rng = new Rng(42);
  const first = make({ rng, augment: DEFAULT_AUGMENT });
  await collect(first);
  const resumed = make({ rng: Rng.fromState(rng.getState()), augment: DEFAULT_AUGMENT });
  assert.deepEqual(await collect(resumed), a[1]);
});

test('pixel samples (CSV sources) and option errors', async () => {
  const pix: DataSet = {
    name: 'pix', root: tmp, labels: ['anger', 'happy'],
    samples: [
      { path: 'f.csv:2', label: 'happy', pixels: { width: 4, height: 4, data: new Uint8Array(16).fill(255) } },
      { path: 'f.csv:3', label: 'anger', pixels: { width: 4, height: 4, data: new Uint8Array(16) } },
    ],
  };
  const [batch] = await collect(new BatchLoader({ dataSet: pix, indices: [0, 1], decode, batchSize: 8 }));
  assert.deepEqual([...(batch?.y ?? [])], [1, 0]);
  assert.equal(batch?.x[0], 1);
  assert.throws(() => make({ augment: DEFAULT_AUGMENT }), /needs an rng/);
  assert.throws(() => make({ indices: [99] }), /out of range/);
  assert.throws(() => new BatchLoader({ dataSet: { ...pix, labels: ['anger'] }, indices: [0], decode, batchSize: 1 }), /not one of the classes/);
});
