/** Imports face-api.js's tiny_face_detector_model weights into a TinyFaceDetector (every weight used once). */
import type { RawTensor } from '../engine/module.js';
import type { TfjsWeightMap } from '../formats/tfjs/tfjsDecodeWeights.js';
import { loadFaceApiWeights } from '../formats/tfjs/tfjsManifest.js';
import { FaceApiWeightReader, withWeights } from './faceApiWeights.js';
import { takeSeparableConv } from './landmarks68Weights.js';
import { TINY_FACE_CHANNELS, TinyFaceDetector } from './tinyFaceDetector.js';

const SOURCE = 'tiny_face_detector_model (@vladmandic/face-api)';

/** The TinyFaceDetector state dict from face-api's weight map. */
export function tinyFaceDetectorStateFromTfjs(map: TfjsWeightMap): Map<string, RawTensor> {
  const r = new FaceApiWeightReader(map, SOURCE);
  r.conv('conv0.weight', 'conv0/filters', [3, 3, 3, 16]);
  r.vector('conv0.bias', 'conv0/bias', 16);
  for (let n = 1; n < TINY_FACE_CHANNELS.length; n++) {
    takeSeparableConv(r, `conv${n}`, `conv${n}`, TINY_FACE_CHANNELS[n - 1] ?? 0, TINY_FACE_CHANNELS[n] ?? 0);
  }
  r.conv('conv8.weight', 'conv8/filters', [1, 1, 512, 25]);
  r.vector('conv8.bias', 'conv8/bias', 25);
  return r.finish();
}

/** A TinyFaceDetector with face-api's pretrained weights (read from node_modules, no network), in eval mode. */
export async function createPretrainedTinyFaceDetector(modelDir?: string): Promise<TinyFaceDetector> {
  const state = tinyFaceDetectorStateFromTfjs(await loadFaceApiWeights('tiny_face_detector_model', modelDir));
  return withWeights(new TinyFaceDetector(), state);
}
