/** `expnet export` (one expnet model → ONNX) and `expnet bundle` (every model the Recognizer needs). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rand, tensor } from '../engine/creation.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { writeFileAtomic } from '../engine/safetensors.js';
import { saveOnnx } from '../export/onnxExport.js';
import { ExpnetError } from '../errors.js';
import { FER_CROP_TEMPLATE } from '../infer/alignCrop.js';
import { ANCHORS_FILE, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE, type BundledCard } from '../infer/modelBundle.js';
import { Module } from '../engine/module.js';
import { loadExpNetModel, type ModelCard } from '../nets/modelCard.js';
import { isTeacherCheckpoint, loadTeacherModel } from '../export/teacherModel.js';
import { loadExpNetOnnx } from '../nets/expNetFromOnnx.js';
import { createPretrainedLandmarks68 } from '../nets/landmarks68Weights.js';
import { createPretrainedSsdMobilenet } from '../nets/ssdMobilenetWeights.js';

export const EXPORT_HELP = `expnet export <model.safetensors> [<model.safetensors> ...] <out.onnx> [--flip]
  Exports an expnet expression model (written by \`expnet train\`) to ONNX (opset 17, dynamic batch,
  BatchNorm folded); its card goes into the ONNX metadata and next to it as <out>.json. A card with
  calibration.temperature T exports logits / T (temperature scaling inside the graph).
  Several models (same labels and input): one graph averaging their calibrated logits (an ensemble; the
  first model's card, with ensemble.members). --flip: each model also sees the mirrored face, averaged in.
  A run's fine-tuned face net (<run>/teacher.best.safetensors, with the run's config.json and results.json)
  is accepted too: it takes the student's 48×48 gray face, resized to the teacher's side inside the graph.
  An exported student (.onnx with its card) is read back into libtorch as a member too.
  --name N: the card's name (default: the first model's; bundle uses its --name).
  --labels a,b,…: only these outputs, in this order (e.g. an 8-class FER+ model without contempt).`;

export const BUNDLE_HELP = `expnet bundle --model <model.safetensors> [--model ...] [--flip] [--labels a,b,…] [--name ${DEFAULT_EXPRESSION_MODEL}] [--out models]
  Writes everything the Recognizer needs into --out: the SSD face detector and 68-point landmark net
  exported from @vladmandic/face-api's weights, the SSD anchors, and the expression model + card
  (several --model / --flip: one averaged graph, as expnet export).`;

/** Mean of the members' calibrated logits (logits / T), each also on the mirrored face when `flip`. */
class AveragedExpNet extends Module {
  constructor(private readonly members: { model: Module; temperature: number }[], private readonly flip: boolean) {
    super();
    members.forEach((m, i) => this.child(`m${i}`, m.model));
  }

  forward(face: Tensor): Tensor {
    return tidy(() => {
      const views = this.flip ? [face, face.flip([3])] : [face];
      let sum: Tensor | null = null;
      for (const { model, temperature } of this.members)
        for (const v of views) {
          const z = model.forward(v).div(temperature * this.members.length * views.length);
          sum = sum === null ? z : sum.add(z);
        }
      if (sum === null) throw new ExpnetError('BAD_CONFIG', 'export: no model');
      return sum;
    });
  }
}

/** An expnet model (with its card), or a run's fine-tuned face net (teacher.best.safetensors) on the same input. */
async function loadMember(path: string): Promise<{ path: string; model: Module; card: ModelCard }> {
  if (path.endsWith('.onnx')) return { path, ...loadOnnxMember(path) };
  return { path, ...(isTeacherCheckpoint(path) ? await loadTeacherModel(path) : loadExpNetModel(path)) };
}

/** An exported expnet student (.onnx + its card) read back into libtorch; its graph's temperature stays in the card. */
function loadOnnxMember(path: string): { model: Module; card: ModelCard } {
  const cardPath = path.replace(/\.onnx$/, '.json');
  if (!existsSync(cardPath)) throw new ExpnetError('NOT_FOUND', `${path}: its card ${cardPath} is missing`);
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as BundledCard;
  if (card.arch !== 'expnet' || !card.config || card.ensemble !== undefined) throw new ExpnetError('BAD_MODEL', `${path}: only a single expnet student graph can be read back from ONNX (export the .safetensors instead)`);
  return { model: loadExpNetOnnx(path, card.config).eval(), card };
}

/** The card with only the outputs `keep` (indices into its labels), priors renormalised. */
function keepOutputs<C extends ModelCard>(card: C, keep: readonly number[]): C {
  const pick = (v: readonly number[] | undefined): number[] | undefined => (v ? keep.map((i) => v[i] ?? 0) : undefined);
  const prior = pick(card.classPrior);
  const total = prior?.reduce((a, b) => a + b, 0) ?? 1;
  const freq = pick(card.classFrequencies);
  return {
    ...card,
    labels: keep.map((i) => card.labels[i] ?? ''),
    config: { ...card.config, numClasses: keep.length },
    ...(prior ? { classPrior: prior.map((p) => p / total) } : {}),
    ...(freq ? { classFrequencies: freq } : {}),
  };
}

/** Indices of `labels` (comma-separated names) in the model's labels. @throws ExpnetError naming an unknown one. */
function outputIndices(labels: string, have: readonly string[]): number[] {
  const want = labels.split(',').map((l) => l.trim()).filter((l) => l !== '');
  const keep = want.map((l) => have.indexOf(l));
  const bad = want.filter((_, k) => (keep[k] ?? -1) < 0);
  if (bad.length > 0 || want.length === 0) throw new ExpnetError('BAD_CONFIG', `--labels: ${bad.length ? `${bad.join(', ')} not among` : 'expected some of'} the model's labels (${have.join(', ')})`);
  if (new Set(want).size !== want.length) throw new ExpnetError('BAD_CONFIG', `--labels: a label twice in ${labels}`);
  return keep;
}

/**
 * An ensemble's training record: the first member's, with every member's data and training sets, so that eval's
 * overlap check (src/eval/trainingOverlap.ts) knows everything any member saw.
 */
function ensembleTraining(cards: readonly ModelCard[]): ModelCard['training'] {
  const first = cards[0];
  if (!first) throw new ExpnetError('BAD_CONFIG', 'export: no model given');
  const sets = cards.flatMap((c) => c.training.sets ?? []);
  const seen = new Set<string>();
  const unique = sets.filter((t) => !seen.has(JSON.stringify(t)) && seen.add(JSON.stringify(t)));
  return {
    ...first.training,
    data: cards.map((c) => `${c.name}: ${c.training.data}`).join('; '),
    command: cards.map((c) => c.training.command).join(' ;; '),
    ...(unique.length > 0 ? { sets: unique } : {}),
  };
}

/** A member's outputs `keep` only (its labels mapped by name onto export --labels). */
class SelectOutputs extends Module {
  readonly #index: Tensor;
  constructor(readonly inner: Module, keep: readonly number[]) {
    super();
    this.child('inner', inner);
    this.#index = this.constant('keep', tensor(Int32Array.from(keep), [keep.length], { dtype: 'int64' }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.inner.forward(x).indexSelect(1, this.#index));
  }
}

async function exportExpression(modelPaths: readonly string[], out: string, flip = false, labels?: string, name?: string): Promise<void> {
  const loaded: { path: string; model: Module; card: ModelCard }[] = [];
  try {
    for (const p of modelPaths) loaded.push(await loadMember(p));
    // --labels: every member's outputs mapped by name onto those labels (so members with other label sets can be averaged).
    for (const o of loaded) {
      if (labels === undefined) continue;
      const keep = outputIndices(labels, o.card.labels);
      o.model = new SelectOutputs(o.model, keep);
      o.card = keepOutputs(o.card, keep);
    }
    await writeGraph(loaded, out, flip, name);
  } finally {
    for (const o of loaded) o.model.dispose();
  }
}

async function writeGraph(loaded: readonly { path: string; model: Module; card: ModelCard }[], out: string, flip: boolean, name?: string): Promise<void> {
  const first = loaded[0];
  if (!first) throw new ExpnetError('BAD_CONFIG', 'export: no model given');
  const { model, card } = first;
  for (const o of loaded.slice(1)) {
    if (JSON.stringify(o.card.labels) !== JSON.stringify(card.labels) || JSON.stringify(o.card.input) !== JSON.stringify(card.input)) {
      throw new ExpnetError('BAD_MODEL', `${o.path}: an ensemble needs the same labels and input as ${first.path} (${o.card.labels.join(',')} ${o.card.input.size}px vs ${card.labels.join(',')} ${card.input.size}px; --labels maps them by name)`);
    }
  }
  const ensemble = loaded.length > 1 || flip ? { ensemble: { members: loaded.map((o) => o.card.name), flip } } : {};
  // A face net anywhere in the graph makes it a face-net model (explain rebuilds only plain expnet graphs).
  const arch = loaded.some((o) => o.card.arch === 'face-net') ? { arch: 'face-net' as const } : {};
  const bundled: BundledCard = { ...card, ...ensemble, ...arch, ...(loaded.length > 1 ? { training: ensembleTraining(loaded.map((o) => o.card)) } : {}), alignment: FER_CROP_TEMPLATE, ...(name ? { name } : {}) };
  // A calibrated model's graph outputs logits / T: softmax of the output is the calibrated probability everywhere.
  const t = card.calibration?.temperature;
  const single = t === undefined || t === 1 ? model : (face: Tensor): Tensor => tidy(() => model.forward(face).div(t));
  const averaged = loaded.length > 1 || flip ? new AveragedExpNet(loaded.map((o) => ({ model: o.model, temperature: o.card.calibration?.temperature ?? 1 })), flip) : null;
  const x = rand([2, card.input.channels, card.input.size, card.input.size]);
  try {
    await saveOnnx(out, averaged ?? single, [x], { inputNames: ['face'], outputNames: ['logits'], ...(averaged ? {} : { module: model }), metadata: { model_card: JSON.stringify(bundled) } });
  } finally {
    x.dispose();
  }
  writeFileSync(out.replace(/\.onnx$/, '') + '.json', JSON.stringify(bundled, null, 1) + '\n');
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, options: { flip: { type: 'boolean' }, labels: { type: 'string' }, name: { type: 'string' } }, allowPositionals: true, strict: true });
  const out = positionals.at(-1);
  const models = positionals.slice(0, -1);
  if (models.length === 0 || !out || !out.endsWith('.onnx')) throw new ExpnetError('BAD_CONFIG', 'usage: expnet export <model.safetensors> [<model.safetensors> ...] <out.onnx> [--flip]');
  await exportExpression(models, out, values.flip ?? false, values.labels, values.name);
  process.stdout.write(`wrote ${out}\n`);
  return 0;
}

export async function bundleCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string', multiple: true }, flip: { type: 'boolean' }, labels: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' } }, strict: true });
  if (!values.model || values.model.length === 0) throw new ExpnetError('BAD_CONFIG', '--model <model.safetensors> is required');
  const out = values.out ?? 'models';
  mkdirSync(out, { recursive: true });
  const ssd = await createPretrainedSsdMobilenet();
  const x512 = rand([1, 3, 512, 512]);
  await saveOnnx(join(out, DETECTOR_FILE), ssd, [x512], { inputNames: ['image'], outputNames: ['boxes_scores'], metadata: { source: 'face-api.js ssd_mobilenetv1_model (@vladmandic/face-api), Apache-2.0' } });
  const anchors = ssd.anchors.floats();
  writeFileAtomic(join(out, ANCHORS_FILE), [new Uint8Array(anchors.buffer, anchors.byteOffset, anchors.byteLength)]);
  x512.dispose();
  ssd.dispose();
  const lm = await createPretrainedLandmarks68();
  const x112 = rand([1, 3, 112, 112]);
  await saveOnnx(join(out, LANDMARKS_FILE), lm, [x112], { inputNames: ['face'], outputNames: ['landmarks'], metadata: { source: 'face-api.js face_landmark_68_model (@vladmandic/face-api), MIT' } });
  x112.dispose();
  lm.dispose();
  const name = values.name ?? DEFAULT_EXPRESSION_MODEL;
  await exportExpression(values.model, join(out, `${name}.onnx`), values.flip ?? false, values.labels, name);
  process.stdout.write(`wrote ${out}/{${DETECTOR_FILE},${ANCHORS_FILE},${LANDMARKS_FILE},${name}.onnx/.json}\n`);
  return 0;
}
