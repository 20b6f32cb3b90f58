/** Imports face-api.js's face_landmark_68_model weights into a Landmarks68 (every tfjs weight used exactly once). */
import type { RawTensor } from '../engine/module.js';
import type { TfjsWeightMap } from '../formats/tfjs/tfjsDecodeWeights.js';
import { loadFaceApiWeights } from '../formats/tfjs/tfjsManifest.js';
import { FaceApiWeightReader, withWeights } from './faceApiWeights.js';
import { FEATURE_EXTRACTOR_CHANNELS, Landmarks68 } from './landmarks68.js';

const SOURCE = 'face_landmark_68_model (@vladmandic/face-api)';

/** `prefix/{depthwise_filter, pointwise_filter, bias}` → `key.{depthwise.weight, pointwise.weight, pointwise.bias}`. */
export function takeSeparableConv(r: FaceApiWeightReader, prefix: string, key: string, cin: number, cout: number): void {
  r.depthwise(`${key}.depthwise.weight`, `${prefix}/depthwise_filter`, [3, 3, cin, 1]);
  r.conv(`${key}.pointwise.weight`, `${prefix}/pointwise_filter`, [1, 1, cin, cout]);
  r.vector(`${key}.pointwise.bias`, `${prefix}/bias`, cout);
}

/** The FaceFeatureExtractor entries (`extractor.dense{d}.conv{k}…`) of a face-api feature-extractor weight map. */
export function takeFeatureExtractor(r: FaceApiWeightReader, key = 'extractor'): void {
  let cin = 3;
  FEATURE_EXTRACTOR_CHANNELS.forEach((c, d) => {
    if (d === 0) {
      r.conv(`${key}.dense0.conv0.weight`, 'dense0/conv0/filters', [3, 3, cin, c]);
      r.vector(`${key}.dense0.conv0.bias`, 'dense0/conv0/bias', c);
    } else {
      takeSeparableConv(r, `dense${d}/conv0`, `${key}.dense${d}.conv0`, cin, c);
    }
    for (const k of [1, 2, 3]) takeSeparableConv(r, `dense${d}/conv${k}`, `${key}.dense${d}.conv${k}`, c, c);
    cin = c;
  });
}

/** The Landmarks68 state dict from face-api's weight map. */
export function landmarks68StateFromTfjs(map: TfjsWeightMap, source = SOURCE): Map<string, RawTensor> {
  const r = new FaceApiWeightReader(map, source);
  takeFeatureExtractor(r);
  r.dense('fc.weight', 'fc/weights', [256, 136]);
  r.vector('fc.bias', 'fc/bias', 136);
  return r.finish();
}

/** A Landmarks68 net with face-api's pretrained weights (read from node_modules, no network), in eval mode. */
export async function createPretrainedLandmarks68(modelDir?: string): Promise<Landmarks68> {
  const state = landmarks68StateFromTfjs(await loadFaceApiWeights('face_landmark_68_model', modelDir));
  return withWeights(new Landmarks68(), state);
}
