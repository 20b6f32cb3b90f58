/**
 * Data-loader throughput on FER2013 (Kaggle folder form): images/s for a cold epoch (sharp decode + augment)
 * and a warm epoch (cache + augment). Reads EXPNET_DATA (default ../shared/data from the repo root); skips
 * with a message when the data is absent. Usage: node --import tsx bench/data-throughput.ts [--limit N] [--batch N]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_AUGMENT } from '../src/data/augment.js';
import { dataRoot } from '../src/data/dataRoot.js';
import { indicesWhere } from '../src/data/dataSet.js';
import { readFer2013 } from '../src/data/fer2013.js';
import { BatchLoader } from '../src/data/loader.js';
import { Rng } from '../src/data/rng.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const ferRoot = path.join(dataRoot(), 'fer2013');

if (!existsSync(ferRoot)) {
  console.log(`SKIP data-throughput: ${ferRoot} not found (set EXPNET_DATA to the folder holding fer2013/)`);
} else {
  const limit = flag('--limit', Infinity);
  const batchSize = flag('--batch', 128);
  let t = performance.now();
  const ds = await readFer2013(ferRoot);
  console.log(`read ${ds.samples.length} samples in ${(performance.now() - t).toFixed(0)} ms`);
  const train = indicesWhere(ds, (s) => s.split === 'Training').slice(0, limit);
  const loader = new BatchLoader({
    dataSet: ds, indices: train, decode: { channels: 1, size: [48, 48] }, batchSize,
    augment: DEFAULT_AUGMENT, rng: new Rng(1), onWarn: (m) => console.warn(m),
  });
  for (const label of ['cold (decode+augment)', 'warm (cache+augment)']) {
    t = performance.now();
    let n = 0;
    for await (const batch of loader.epoch()) n += batch.indices.length;
    const s = (performance.now() - t) / 1000;
    console.log(`${label}: ${n} images in ${s.toFixed(2)} s = ${(n / s).toFixed(0)} images/s (batch ${batchSize}, skipped ${loader.skipped})`);
  }
  const mem = process.memoryUsage();
  console.log(`cache: ${loader.cached} images; rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB`);
}
