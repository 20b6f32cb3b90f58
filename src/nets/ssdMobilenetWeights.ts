/** Imports face-api.js's ssd_mobilenetv1_model weights into an SsdMobilenet (every weight used once). */
import type { RawTensor } from '../engine/module.js';
import type { TfjsWeightMap } from '../formats/tfjs/tfjsDecodeWeights.js';
import { loadFaceApiWeights } from '../formats/tfjs/tfjsManifest.js';
import { FaceApiWeightReader, withWeights } from './faceApiWeights.js';
import { SSD_BOX_PREDICTORS, SSD_EXTRA_LAYERS, SSD_MOBILENET_PAIRS, SSD_NUM_ANCHORS, SsdMobilenet } from './ssdMobilenet.js';

const SOURCE = 'ssd_mobilenetv1_model (@vladmandic/face-api)';

/** Graph constants of the TF export that face-api ignores; checked, so a different export is noticed. */
const CONSTANTS: readonly (readonly [string, readonly number[]])[] = [
  ['Preprocessor/mul/x', [1 / 127.5]],
  ['Preprocessor/sub/y', [1]],
  ['Preprocessor/ResizeImage/size', [512, 512]],
  ['Postprocessor/stack/1', [SSD_NUM_ANCHORS]],
  ['Postprocessor/Slice/begin', [0, 0, 1]],
  ['Postprocessor/Slice/size', [-1, -1, -1]],
  ['Prediction/BoxPredictor_0/stack_1/2', [3]],
  ['Prediction/BoxPredictor_0/stack/3', [4]],
  ['Prediction/BoxPredictor_0/strided_slice/stack', [0]],
  ['Prediction/BoxPredictor_0/strided_slice/stack_1', [1]],
  ['concat_1/axis', [1]],
  ...[3072, 1536, 384, 96, 24, 6].map((n, k) => [`Prediction/BoxPredictor_${k}/stack_1/1`, [n]] as const),
];

function pointwise(r: FaceApiWeightReader, key: string, prefix: string, k: number, cin: number, cout: number): void {
  r.conv(`${key}.weight`, `${prefix}/weights`, [k, k, cin, cout]);
  r.vector(`${key}.bias`, `${prefix}/convolution_bn_offset`, cout);
}

/** The SsdMobilenet state dict from face-api's weight map. */
export function ssdMobilenetStateFromTfjs(map: TfjsWeightMap): Map<string, RawTensor> {
  const r = new FaceApiWeightReader(map, SOURCE);
  pointwise(r, 'conv0', 'MobilenetV1/Conv2d_0_pointwise', 3, 3, 32);
  SSD_MOBILENET_PAIRS.forEach(([cin, cout], k) => {
    const i = k + 1;
    const dw = `MobilenetV1/Conv2d_${i}_depthwise`;
    r.depthwise(`conv${i}.depthwise.weight`, `${dw}/depthwise_weights`, [3, 3, cin, 1]);
    r.vector(`conv${i}.bn.weight`, `${dw}/BatchNorm/gamma`, cin);
    r.vector(`conv${i}.bn.bias`, `${dw}/BatchNorm/beta`, cin);
    r.vector(`conv${i}.bn.running_mean`, `${dw}/BatchNorm/moving_mean`, cin);
    r.vector(`conv${i}.bn.running_var`, `${dw}/BatchNorm/moving_variance`, cin);
    pointwise(r, `conv${i}.pointwise`, `MobilenetV1/Conv2d_${i}_pointwise`, 1, cin, cout);
  });
  SSD_EXTRA_LAYERS.forEach(([cin, cout, k], j) => pointwise(r, `extra${j}`, `Prediction/Conv2d_${j}_pointwise`, k, cin, cout));
  SSD_BOX_PREDICTORS.forEach(([c, a], k) => {
    const p = `Prediction/BoxPredictor_${k}`;
    r.conv(`box${k}.boxEncoding.weight`, `${p}/BoxEncodingPredictor/weights`, [1, 1, c, a * 4]);
    r.vector(`box${k}.boxEncoding.bias`, `${p}/BoxEncodingPredictor/biases`, a * 4);
    r.conv(`box${k}.classes.weight`, `${p}/ClassPredictor/weights`, [1, 1, c, a * 3]);
    r.vector(`box${k}.classes.bias`, `${p}/ClassPredictor/biases`, a * 3);
  });
  const anchors = r.take('Output/extra_dim', [1, SSD_NUM_ANCHORS, 4]);
  r.put('anchors', [SSD_NUM_ANCHORS, 4], Float32Array.from(anchors.data));
  for (const [name, values] of CONSTANTS) r.constant(name, values);
  return r.finish();
}

/** An SsdMobilenet with face-api's pretrained weights (read from node_modules, no network), in eval mode. */
export async function createPretrainedSsdMobilenet(modelDir?: string): Promise<SsdMobilenet> {
  const state = ssdMobilenetStateFromTfjs(await loadFaceApiWeights('ssd_mobilenetv1_model', modelDir));
  return withWeights(new SsdMobilenet(), state);
}
