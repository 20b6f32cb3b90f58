/** `expnet explain`: Grad-CAM heat maps over every detected face (predicted class, and optionally a chosen one) → PNG. */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExpnetError } from '../errors.js';
import { explainCrop, explainFaces, explanationPng, type FaceExplanation } from '../eval/explain.js';
import { readRgb } from '../infer/readImage.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL } from '../infer/modelBundle.js';
import { createRecognizer } from '../infer/recognizer.js';
import { loadExpNetModel } from '../nets/modelCard.js';
import sharp from 'sharp';

export const EXPLAIN_HELP = `expnet explain <image> [options]
  Grad-CAM over the expression net's 5th (or --layer) conv block for every face found (SSD detector + 68 landmarks on
  ONNX Runtime, aligned as for classification): the photo with the predicted class's map over each face,
  and per face the aligned crop with the maps of the predicted and the --class class, as one PNG.
  --model M      expnet model (.safetensors, from expnet train; default <models>/${DEFAULT_EXPRESSION_MODEL}.safetensors)
  --class LABEL  also explain this class (e.g. happy)
  --layer L      block5 (default: 3×3 map at 48 px input) | block4 (6×6, finer) | … block1
  --out FILE     output PNG (default <image name>.gradcam.png)
  --crop         the image is a face crop already: no detection or alignment
  --models DIR   detector/landmark models (default: the bundled models/)
  --json         print the faces, probabilities and maps as JSON`;

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { model: { type: 'string' }, class: { type: 'string' }, layer: { type: 'string' }, out: { type: 'string' }, crop: { type: 'boolean' }, models: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [image] = positionals;
  if (!image) throw new ExpnetError('BAD_CONFIG', 'give an image: expnet explain <image>');
  const modelPath = values.model ?? join(values.models ?? bundledModelDir(), `${DEFAULT_EXPRESSION_MODEL}.safetensors`);
  if (!existsSync(modelPath)) throw new ExpnetError('NOT_FOUND', `Grad-CAM needs the libtorch model: ${modelPath} not found (pass --model <model.safetensors>)`);
  const { model, card } = loadExpNetModel(modelPath);
  const out = values.out ?? `${basename(image, extname(image))}.gradcam.png`;
  const layer = /^block(\d)$/.exec(values.layer ?? 'block5');
  if (!layer) throw new ExpnetError('BAD_CONFIG', `--layer: expected block1..block5, got ${values.layer}`);
  const opts = { block: Number(layer[1]), ...(values.class ? { chosen: values.class } : {}) };
  let faces: FaceExplanation[];
  let png: Buffer;
  try {
    const img = await readRgb(image);
    if (values.crop) {
      const size = model.config.inputSize;
      const raw = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).grayscale().resize(size, size, { fit: 'fill' }).raw().toBuffer();
      const crop = Float32Array.from(raw.subarray(0, size * size), (v) => v / 255);
      faces = [{ box: { x: 0, y: 0, width: img.width, height: img.height }, toCrop: null, ...explainCrop(model, card.labels, crop, opts) }];
      png = await explanationPng(null, faces);
    } else {
      const rec = await createRecognizer(values.models ? { modelDir: values.models } : {});
      try {
        faces = await explainFaces(rec, model, card.labels, img, opts);
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
