/** `expnet export` (one expnet model → ONNX) and `expnet bundle` (every model the Recognizer needs). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rand } from '../engine/creation.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { writeFileAtomic } from '../engine/safetensors.js';
import { saveOnnx } from '../export/onnxExport.js';
import { ExpnetError } from '../errors.js';
import { FER_CROP_TEMPLATE } from '../infer/alignCrop.js';
import { ANCHORS_FILE, DETECTOR_FILE, LANDMARKS_FILE, type BundledCard } from '../infer/modelBundle.js';
import { loadExpNetModel } from '../nets/modelCard.js';
import { createPretrainedLandmarks68 } from '../nets/landmarks68Weights.js';
import { createPretrainedSsdMobilenet } from '../nets/ssdMobilenetWeights.js';

export const EXPORT_HELP = `expnet export <model.safetensors> <out.onnx>
  Exports an expnet expression model (written by \`expnet train\`) to ONNX (opset 17, dynamic batch,
  BatchNorm folded); its card goes into the ONNX metadata and next to it as <out>.json. A card with
  calibration.temperature T exports logits / T (temperature scaling inside the graph).`;

export const BUNDLE_HELP = `expnet bundle --model <model.safetensors> [--name expnet-fer2013] [--out models]
  Writes everything the Recognizer needs into --out: the SSD face detector and 68-point landmark net
  exported from @vladmandic/face-api's weights, the SSD anchors, and the expression model + card.`;

async function exportExpression(modelPath: string, out: string): Promise<void> {
  const { model, card } = loadExpNetModel(modelPath);
  const x = rand([2, card.input.channels, card.input.size, card.input.size]);
  const bundled: BundledCard = { ...card, alignment: FER_CROP_TEMPLATE };
  // A calibrated model's graph outputs logits / T: softmax of the output is the calibrated probability everywhere.
  const t = card.calibration?.temperature;
  const net = t === undefined || t === 1 ? model : (face: Tensor): Tensor => tidy(() => model.forward(face).div(t));
  await saveOnnx(out, net, [x], { inputNames: ['face'], outputNames: ['logits'], module: model, metadata: { model_card: JSON.stringify(bundled) } });
  writeFileSync(out.replace(/\.onnx$/, '') + '.json', JSON.stringify(bundled, null, 1) + '\n');
  x.dispose();
  model.dispose();
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  const [model, out] = positionals;
  if (!model || !out) throw new ExpnetError('BAD_CONFIG', 'usage: expnet export <model.safetensors> <out.onnx>');
  await exportExpression(model, out);
  process.stdout.write(`wrote ${out}\n`);
  return 0;
}

export async function bundleCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' } }, strict: true });
  if (!values.model) throw new ExpnetError('BAD_CONFIG', '--model <model.safetensors> is required');
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
  await exportExpression(values.model, join(out, `${values.name ?? 'expnet-fer2013'}.onnx`));
  process.stdout.write(`wrote ${out}/{${DETECTOR_FILE},${ANCHORS_FILE},${LANDMARKS_FILE},${values.name ?? 'expnet-fer2013'}.onnx/.json}\n`);
  return 0;
}
