/** `expnet neurons`: the top images of a layer's most active units, and their expression vs subject purity. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DataSet } from '../data/dataSet.js';
import { detectFormat } from '../data/detectFormat.js';
import { ExpnetError } from '../errors.js';
import { evalSplit } from '../eval/evalSplit.js';
import { collectActivations, openActivationSource } from '../eval/layerActivations.js';
import { neuronStudyTable } from '../eval/markdown.js';
import { neuronGridPng } from '../eval/neuronGrid.js';
import { studyUnits } from '../eval/neurons.js';
import { loadImageSet } from '../train/imageSet.js';
import { DATA_FORMATS, readDataSet, type DataFormat } from '../train/experiment.js';

export const NEURONS_HELP = `expnet neurons <model> [<model> ...] <dataset> [options]
  For the most active units of a layer: the k images that excite each most (grid PNG with the unit's
  activation map over each), and the expression purity vs the subject purity of those k images, against
  the purity of k random images. Models: an expnet model, or a run's stageB.best / teacher.best checkpoint
  (the fine-tuned face net, fed the same images upsampled), or facenet:pretrained (face-api's identity net).
  --layer L        block1..block5 for expnet (default block5); a face-net block (default conv256_down_out)
  --k N            images per unit (default 9)          --units N   units shown (default 16)
  --format F       data set format (default: detected)  --split S   test | all (default all) | a split name
  --all-frames     keep every frame of a sequence (default: the last frame only, so near-duplicate
                   frames of one sequence do not inflate both purities)
  --out DIR        neurons-<n>.png and neurons.json (default runs/neurons)   --json  print the study as JSON`;

type NeuronRow = Parameters<typeof neuronStudyTable>[0][number];

/** The last frame of each sequence (samples without a sequence are kept). */
function lastFrames(ds: DataSet, indices: readonly number[]): number[] {
  const best = new Map<string, number>();
  const out: number[] = [];
  for (const i of indices) {
    const s = ds.samples[i];
    if (!s?.sequence) {
      out.push(i);
      continue;
    }
    const j = best.get(s.sequence);
    if (j === undefined || (s.frame ?? 0) > (ds.samples[j]?.frame ?? 0)) best.set(s.sequence, i);
  }
  return [...out, ...best.values()].sort((a, b) => a - b);
}

export async function neuronsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      layer: { type: 'string', multiple: true },
      k: { type: 'string' },
      units: { type: 'string' },
      format: { type: 'string' },
      split: { type: 'string' },
      'all-frames': { type: 'boolean' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length < 2) throw new ExpnetError('BAD_CONFIG', 'usage: expnet neurons <model> [<model> ...] <dataset>');
  const data = positionals[positionals.length - 1] as string;
  const models = positionals.slice(0, -1);
  const format = (values.format ?? detectFormat(data).format) as DataFormat;
  if (!DATA_FORMATS.includes(format)) throw new ExpnetError('BAD_CONFIG', `--format: expected one of ${DATA_FORMATS.join(', ')}, got ${format}`);
  const k = Number(values.k ?? 9);
  const topUnits = Number(values.units ?? 16);
  const out = values.out ?? join('runs', 'neurons');
  const ds = await readDataSet(format, data);
  const split = evalSplit(ds, values.split ?? 'all');
  const indices = values['all-frames'] ? split.indices : lastFrames(ds, split.indices);
  if (!ds.samples.some((s) => s.subject)) process.stderr.write(`expnet neurons: ${ds.name} has no subject ids; subject purity is meaningless\n`);
  mkdirSync(out, { recursive: true });
  const rows: NeuronRow[] = [];
  const studies: object[] = [];
  for (const [m, path] of models.entries()) {
    const src = await openActivationSource(path);
    try {
      const set = await loadImageSet(ds, indices, { channels: src.input.channels, height: src.input.size, width: src.input.size }, (msg) => process.stderr.write(`expnet neurons: ${msg}\n`));
      const layer = values.layer?.[Math.min(m, values.layer.length - 1)] ?? src.defaultLayer;
      const acts = collectActivations(src, set, layer);
      const labels = set.sampleIndex.map((i) => ds.samples[i]?.label ?? '');
      const subjects = set.sampleIndex.map((i) => ds.samples[i]?.subject ?? '');
      const study = studyUnits(acts, layer, labels, subjects, k, topUnits);
      const name = path.includes('/') ? `${basename(dirname(path))}/${basename(path)}` : path;
      const png = join(out, `neurons-${m + 1}-${src.kind}-${layer}.png`);
      writeFileSync(png, await neuronGridPng(study, acts, set, `${name} · ${layer} · top ${study.k} of ${set.y.length} images`));
      rows.push({ model: `${name} (${src.kind})`, layer, units: study.units.length, k: study.k, expression: study.meanExpressionPurity, expressionChance: study.chanceExpressionPurity, subject: study.meanSubjectPurity, subjectChance: study.chanceSubjectPurity });
      studies.push({ model: path, kind: src.kind, images: set.y.length, grid: png, ...study, units: study.units.map((u) => ({ ...u, top: u.top.map((r) => ds.samples[set.sampleIndex[r] ?? 0]?.path ?? '') })) });
    } finally {
      src.model.dispose();
    }
  }
  const table = neuronStudyTable(rows);
  writeFileSync(join(out, 'neurons.json'), JSON.stringify({ command: ['expnet neurons', ...argv].join(' '), dataSet: ds.name, split: split.description, images: indices.length, studies }, null, 1) + '\n');
  writeFileSync(join(out, 'neurons.md'), table + '\n');
  process.stdout.write(values.json ? JSON.stringify({ studies }, null, 1) + '\n' : `${table}\n\nwrote ${out}/neurons.json, neurons.md and ${models.length} grid PNG(s)\n`);
  return 0;
}
