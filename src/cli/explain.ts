/** `expnet explain`: Grad-CAM heat maps over every detected face (predicted class, and optionally a chosen one) → PNG. */
import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ExpnetError } from '../errors.js';
import { explainCrop, explainFaces, explanationPng, type FaceExplanation } from '../eval/explain.js';
import { CAM_METHODS, DEFAULT_CAM_METHOD } from '../eval/gradCam.js';
import { readRgb } from '../infer/readImage.js';
import { DEFAULT_EXPLAIN_MODEL, loadBundle } from '../infer/modelBundle.js';
import { createRecognizer } from '../infer/recognizer.js';
import type { ExpNet } from '../nets/expNet.js';
import { loadExpNetOnnx } from '../nets/expNetFromOnnx.js';
import { loadExpNetModel } from '../nets/modelCard.js';
import sharp from 'sharp';
import { DETECTOR_OPTIONS, parseOptions, recognizerOptions, type OptionValues } from './options.js';

export const EXPLAIN_HELP = `expnet explain <image> [options]
  Grad-CAM over the expression net's 5th (or --layer) conv block for every face found (SSD detector + 68 landmarks on
  ONNX Runtime, aligned as for classification): the photo with the predicted class's map over each face,
  and per face the aligned crop with the maps of the predicted and the --class class, as one PNG.
  --model M      expression model: a .safetensors from expnet train, or a model NAME in --models (its .onnx and
                 card, read back into libtorch with BatchNorm folded; default the bundled ${DEFAULT_EXPLAIN_MODEL}: explain rebuilds one student, not an ensemble)
  --class LABEL  also explain this class (e.g. happy)
  --layer L      block5 (default: 3×3 map at 48 px input) | block4 (6×6, finer) | … block1
  --method M     ${CAM_METHODS.join(' | ')} (default ${DEFAULT_CAM_METHOD}: the gradient per position, as the
                 net's flatten + FC head uses it; gradcam averages it per channel and can leave nothing)
  --out FILE     output PNG (default <image name>.gradcam.png)
  --crop         the image is a face crop already: no detection or alignment
  --models DIR   detector/landmark/expression models (default: the bundled models/)
  --min-score S  --detector-size N  --detector-precision P   the detector, as for predict
  --json         print the faces, probabilities and maps as JSON`;

export const EXPLAIN_OPTIONS = {
  ...DETECTOR_OPTIONS,
  class: { kind: 'string' },
  layer: { kind: 'choice', choices: ['block1', 'block2', 'block3', 'block4', 'block5'] },
  method: { kind: 'choice', choices: CAM_METHODS },
  out: { kind: 'string' },
  crop: { kind: 'flag' },
  json: { kind: 'flag' },
} as const;

/**
 * The net to explain, its labels and its card's calibration temperature: a training .safetensors (with its card),
 * else a bundled ONNX model and card (its graph divides by T; the net read back from it does not).
 */
function explainedNet(model: string | undefined, models: string | undefined): { net: ExpNet; labels: readonly string[]; temperature: number } {
  if (model?.endsWith('.safetensors')) {
    const { model: net, card } = loadExpNetModel(model);
    return { net, labels: card.labels, temperature: card.calibration?.temperature ?? 1 };
  }
  const bundle = loadBundle(models, model ?? DEFAULT_EXPLAIN_MODEL);
  if (bundle.card.ensemble) throw new ExpnetError('BAD_MODEL', `${bundle.expression}: explain rebuilds one expnet student; this model averages ${bundle.card.ensemble.members.join(' + ')}${bundle.card.ensemble.flip ? ' and their mirror images' : ''}: explain one member (e.g. --model fast or --model expnet-mix)`);
  if (bundle.card.arch === 'face-net') throw new ExpnetError('BAD_MODEL', `${bundle.expression}: explain rebuilds expnet student graphs only; this model holds a fine-tuned face net (${bundle.card.training.teacher?.net ?? 'teacher'}): explain --model fast, or a student model`);
  if (!bundle.card.config) throw new ExpnetError('BAD_MODEL', `${bundle.expression}: its card has no ExpNet config to rebuild the net from`);
  return { net: loadExpNetOnnx(bundle.expression, bundle.card.config), labels: bundle.card.labels, temperature: bundle.card.calibration?.temperature ?? 1 };
}

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, EXPLAIN_OPTIONS, { positionals: true });
  const [image, ...extra] = positionals;
  if (!image || extra.length > 0) throw new ExpnetError('BAD_CONFIG', 'give one image: expnet explain <image> [options]');
  const { net: model, labels, temperature } = explainedNet(values.model, values.models);
  const out = values.out ?? `${basename(image, extname(image))}.gradcam.png`;
  const opts = { block: Number((values.layer ?? 'block5').slice(5)), temperature, ...(values.class ? { chosen: values.class } : {}), ...(values.method ? { method: values.method } : {}) };
  let faces: FaceExplanation[];
  let png: Buffer;
  try {
    const img = await readRgb(image);
    if (values.crop) {
      const size = model.config.inputSize;
      const raw = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).grayscale().resize(size, size, { fit: 'fill' }).raw().toBuffer();
      const crop = Float32Array.from(raw.subarray(0, size * size), (v) => v / 255);
      faces = [{ box: { x: 0, y: 0, width: img.width, height: img.height }, toCrop: null, ...explainCrop(model, labels, crop, opts) }];
      png = await explanationPng(null, faces);
    } else {
      const detector: OptionValues<typeof DETECTOR_OPTIONS> = { ...values };
      delete detector.model; // the expression net is the one explained above
      const rec = await createRecognizer(recognizerOptions(detector));
      try {
        faces = await explainFaces(rec, model, labels, img, opts);
      } finally {
        await rec.dispose();
      }
      png = await explanationPng(img, faces);
    }
  } finally {
    model.dispose();
  }
  writeFileSync(out, png);
  if (values.json) {
    const rows = faces.map((f) => ({ box: f.box, probs: f.probs, predicted: { label: f.predicted.label, probability: f.predicted.probability, map: Array.from(f.predicted.map) }, ...(f.chosen ? { chosen: { label: f.chosen.label, probability: f.chosen.probability, map: Array.from(f.chosen.map) } } : {}), mapSize: [f.height, f.width] }));
    process.stdout.write(JSON.stringify({ image, output: out, faces: rows }, null, 1) + '\n');
  } else {
    faces.forEach((f, i) => process.stdout.write(`face ${i + 1}: ${f.predicted.label} ${(100 * f.predicted.probability).toFixed(1)}%${f.chosen ? `, ${f.chosen.label} ${(100 * f.chosen.probability).toFixed(1)}%` : ''}\n`));
    process.stdout.write(faces.length === 0 ? `${image}: no face found; wrote ${out} anyway\n` : `wrote ${out}\n`);
  }
  return 0;
}
