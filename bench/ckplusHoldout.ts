/**
 * CK+48 with a fixed set of held-out subjects, as a CSV manifest (`split` = train | test) in a folder with a copy of
 * CK+48's class folders, so a multi-data training can include CK+48 and still be scored on people it never saw
 * (`officialSplit` sets `test` aside; `expnet eval <out>/manifest.csv --split test` scores them).
 *
 *   node dist/bench/ckplusHoldout.js [--data DIR] [--out DIR] [--fraction 0.3] [--seed 1]
 *
 * Subjects are sorted, shuffled with the seeded Rng and the first ⌈fraction × subjects⌉ held out: the same
 * arguments give the same split on any machine. Images are copied (981 crops of 48×48, ~2 MB): a manifest's images
 * must lie inside its folder, and a symlink leading out of it is refused (issue 30).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dataRoot } from '../src/data/dataRoot.js';
import { parseCsv, columnIndex } from '../src/data/parseCsv.js';
import { Rng } from '../src/data/rng.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string', default: 'runs/ckplus48-holdout' },
    fraction: { type: 'string', default: '0.3' },
    seed: { type: 'string', default: '1' },
  },
});
const src = resolve(values.data ?? join(dataRoot(), 'ckplus48'));
const manifest = join(src, 'manifest.csv');
if (!existsSync(manifest)) {
  process.stderr.write(`ckplusHoldout: ${manifest} not found (set --data or EXPNET_DATA); nothing written\n`);
  process.exit(0);
}
const fraction = Number(values.fraction);
if (!(fraction > 0 && fraction < 1)) throw new Error(`--fraction: expected a number in (0, 1), got ${values.fraction}`);
const table = parseCsv(readFileSync(manifest, 'utf8'), manifest);
const subjectCol = columnIndex(table.header, 'subject', manifest, true);
const subjects = [...new Set(table.rows.map((r) => r.fields[subjectCol] ?? ''))].sort();
const held = new Set(new Rng(Number(values.seed)).shuffle([...subjects]).slice(0, Math.ceil(fraction * subjects.length)));

const out = resolve(values.out);
mkdirSync(out, { recursive: true });
for (const entry of readdirSync(src, { withFileTypes: true })) {
  if (!entry.isDirectory()) continue;
  const copy = join(out, entry.name);
  rmSync(copy, { force: true, recursive: true });
  cpSync(join(src, entry.name), copy, { recursive: true });
}
const lines = [[...table.header, 'split'].join(',')];
let test = 0;
for (const r of table.rows) {
  const isTest = held.has(r.fields[subjectCol] ?? '');
  if (isTest) test++;
  lines.push([...r.fields, isTest ? 'test' : 'train'].join(','));
}
writeFileSync(join(out, 'manifest.csv'), lines.join('\n') + '\n');
process.stdout.write(
  `ckplusHoldout: ${held.size} of ${subjects.length} subjects held out (seed ${values.seed}): ${test} test / ${table.rows.length - test} train images\n` +
    `  ${join(out, 'manifest.csv')}\n  held out: ${[...held].sort().join(' ')}\n`,
);
