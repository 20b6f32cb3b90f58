/**
 * Writes a validation-suite run (bench/suite.ts --out) into bundled model cards: `suite` = the command, and per set
 * the model's n, accuracy and balanced accuracy, the posed photos' neutral rate and the selection score.
 * Usage: node dist/bench/cardSuite.js --suite runs/suite-roles.json --model expnet-accurate [--model expnet-fast ...] [--models DIR]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundledModelDir, resolveModelName } from '../src/infer/modelBundle.js';

interface SuiteRun {
  command: string;
  sets: { set: string; models: { model: string; n: number; accuracy: number; balancedAccuracy: number }[]; extra: string[] }[];
  selection: { model: string; taiwan: number; validation: number; score: number }[];
}

const { values } = parseArgs({ options: { suite: { type: 'string' }, model: { type: 'string', multiple: true }, models: { type: 'string' } } });
if (!values.suite || !values.model?.length) throw new Error('usage: cardSuite --suite FILE --model NAME [--model NAME ...] [--models DIR]');
const run = JSON.parse(readFileSync(values.suite, 'utf8')) as SuiteRun;
const dir = values.models ?? bundledModelDir();
const round = (x: number): number => Math.round(x * 10000) / 10000;
for (const name of values.model) {
  const sets: Record<string, { n: number; accuracy: number; balancedAccuracy: number }> = {};
  for (const s of run.sets) {
    const m = s.models.find((x) => x.model === name);
    if (m) sets[s.set] = { n: m.n, accuracy: round(m.accuracy), balancedAccuracy: round(m.balancedAccuracy) };
  }
  if (Object.keys(sets).length === 0) throw new Error(`${values.suite}: no results for model ${name}`);
  const neutral = run.sets.flatMap((s) => s.extra).find((e) => e.startsWith(`${name}: non-neutral called neutral`));
  const sel = run.selection.find((x) => x.model === name);
  const path = join(dir, `${resolveModelName(name)}.json`);
  const card = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  card['suite'] = { command: run.command, sets, ...(neutral ? { posedNonNeutralCalledNeutral: neutral.split(' ').at(-2) + ' %' } : {}), ...(sel ? { selectionScore: round(sel.score) } : {}) };
  writeFileSync(path, JSON.stringify(card, null, 1) + '\n');
  process.stdout.write(`${path}: suite results of ${name} written\n`);
}
