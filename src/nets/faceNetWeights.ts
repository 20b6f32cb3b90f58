/** Imports face-api.js's face_recognition_model weights into a FaceNet (scale/offset folded into the convs). */
import { loadFaceApiWeights } from '../formats/tfjs/tfjsManifest.js';
import type { TfjsWeightMap } from '../formats/tfjs/tfjsDecodeWeights.js';
import { denseToLinear, hwioToOihw, takeWeight } from '../formats/tfjs/tfjsLayout.js';
import { ExpnetError } from '../errors.js';
import type { RawTensor } from '../engine/module.js';
import { withWeights } from './faceApiWeights.js';
import { FACE_NET_BLOCKS, FaceNet } from './faceNet.js';

const SOURCE = 'face_recognition_model (@vladmandic/face-api)';

/** conv(x)·s + t = conv'(x) with w' = w·s (per output channel) and b' = b·s + t. */
function foldConv(map: TfjsWeightMap, prefix: string, used: Set<string>): [RawTensor, RawTensor] {
  const names = ['conv/filters', 'conv/bias', 'scale/weights', 'scale/biases'].map((n) => `${prefix}/${n}`) as [string, string, string, string];
  const [f, b, s, t] = names.map((n) => takeWeight(map, n, null, SOURCE)) as [
    ReturnType<typeof takeWeight>,
    ReturnType<typeof takeWeight>,
    ReturnType<typeof takeWeight>,
    ReturnType<typeof takeWeight>,
  ];
  names.forEach((n) => used.add(n));
  const w = hwioToOihw(f);
  const [o] = w.shape;
  const per = w.data.length / o;
  for (let k = 0; k < o; k++) {
    const sk = s.data[k] as number;
    for (let j = 0; j < per; j++) w.data[k * per + j] = (w.data[k * per + j] as number) * sk;
  }
  const bias = new Float32Array(o);
  for (let k = 0; k < o; k++) bias[k] = (b.data[k] as number) * (s.data[k] as number) + (t.data[k] as number);
  return [
    { dtype: 'float32', shape: w.shape, data: w.data },
    { dtype: 'float32', shape: [o], data: bias },
  ];
}

/** The FaceNet state dict from face-api's weight map; every tfjs weight must be used exactly once. */
export function faceNetStateFromTfjs(map: TfjsWeightMap): Map<string, RawTensor> {
  const used = new Set<string>();
  const state = new Map<string, RawTensor>();
  const put = (name: string, [w, b]: [RawTensor, RawTensor]): void => {
    state.set(`${name}.weight`, w);
    state.set(`${name}.bias`, b);
  };
  put('conv32_down', foldConv(map, 'conv32_down', used));
  for (const [block] of FACE_NET_BLOCKS) {
    put(`${block}.conv1`, foldConv(map, `${block}/conv1`, used));
    put(`${block}.conv2`, foldConv(map, `${block}/conv2`, used));
  }
  const fc = denseToLinear(takeWeight(map, 'fc', [256, 128], SOURCE));
  used.add('fc');
  state.set('fc.weight', { dtype: 'float32', shape: fc.shape, data: fc.data });
  const left = [...map.keys()].filter((k) => !used.has(k));
  if (left.length > 0) throw new ExpnetError('BAD_WEIGHTS', `${SOURCE}: unused weights ${left.join(', ')}`);
  return state;
}

/** A FaceNet with face-api's pretrained weights (read from node_modules, no network). */
export async function createPretrainedFaceNet(modelDir?: string): Promise<FaceNet> {
  return withWeights(new FaceNet(), faceNetStateFromTfjs(await loadFaceApiWeights('face_recognition_model', modelDir)));
}
