/**
 * What dividing the neutral probability by k does to photos of posed expressions: reads `expnet predict DIR --jsonl`
 * output of a folder whose sub-folders are the true labels (taiwan-cfe-dev), takes each photo's largest face (no face =
 * wrong), and prints accuracy and the share of non-neutral photos called neutral for each k.
 *   node dist/src/cli/main.js predict ../shared/data/taiwan-cfe-dev --model fast --jsonl --no-landmarks > runs/taiwan.jsonl
 *   node dist/bench/neutralScale.js runs/taiwan.jsonl [--k 1,1.5,2,3,4,6]
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';

interface Row { input: string; faces?: { box: { width: number; height: number }; expressions: Record<string, number> }[] }

const { positionals, values } = parseArgs({ allowPositionals: true, options: { k: { type: 'string', default: '1,1.5,2,3,4,6' } } });
const file = positionals[0];
if (!file) throw new Error('usage: neutralScale <predict.jsonl> [--k 1,2,4]');
const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Row);
const photos = rows.map((r) => {
  const largest = (r.faces ?? []).reduce<NonNullable<Row['faces']>[number] | null>((a, f) => (a && a.box.width * a.box.height >= f.box.width * f.box.height ? a : f), null);
  return { truth: basename(dirname(r.input)), probs: largest?.expressions ?? null };
});
process.stdout.write(`| k | accuracy % | non-neutral called neutral % |\n|---|---|---|\n`);
for (const k of values.k.split(',').map(Number)) {
  let right = 0;
  let nonNeutral = 0;
  let calledNeutral = 0;
  for (const { truth, probs } of photos) {
    const scored = probs ? Object.entries(probs).map(([l, p]) => [l, l === 'neutral' ? p / k : p] as const) : [];
    const label = scored.reduce<readonly [string, number] | null>((a, e) => (a && a[1] >= e[1] ? a : e), null)?.[0] ?? 'no face';
    if (label === truth) right++;
    if (truth !== 'neutral') {
      nonNeutral++;
      if (label === 'neutral') calledNeutral++;
    }
  }
  process.stdout.write(`| ${k} | ${((100 * right) / photos.length).toFixed(2)} | ${((100 * calledNeutral) / Math.max(nonNeutral, 1)).toFixed(2)} |\n`);
}
