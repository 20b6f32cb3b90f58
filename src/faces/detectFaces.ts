/** Image tensor → face boxes with the ported face-api.js detectors: preprocess, net, decode, NMS. */
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import type { SsdMobilenet } from '../nets/ssdMobilenet.js';
import { SSD_INPUT } from '../nets/ssdMobilenet.js';
import type { TinyFaceDetector } from '../nets/tinyFaceDetector.js';
import { TINY_FACE_INPUT } from '../nets/tinyFaceDetector.js';
import type { FaceDetection } from './box.js';
import { decodeSsdBoxes, decodeSsdFaces, type SsdFaceOptions } from './decodeSsdFaces.js';
import { decodeTinyFaces, type TinyFaceOptions } from './decodeTinyFaces.js';
import { toNetInput } from './netInput.js';

export interface TinyDetectOptions extends TinyFaceOptions {
  /** Net input size, a multiple of 32 (face-api default 416; smaller is faster, finds fewer small faces). */
  inputSize?: number;
}

function checkImage(image: Tensor, what: string): void {
  if (image.rank !== 4 || image.shape[0] !== 1 || image.shape[1] !== 3) {
    throw new ExpnetError('BAD_INPUT', `${what}: expected one RGB image tensor [1, 3, H, W] (0..255), got [${image.shape.join(', ')}]`);
  }
}

/** Faces found by the tiny detector in an image tensor [1, 3, H, W] (RGB, 0..255); boxes in its pixels. */
export function detectFacesTiny(net: TinyFaceDetector, image: Tensor, options: TinyDetectOptions = {}): FaceDetection[] {
  checkImage(image, 'detectFacesTiny');
  const inputSize = options.inputSize ?? TINY_FACE_INPUT;
  const { data, cells, reshaped, width, height } = noGrad(() =>
    tidy(() => {
      const input = toNetInput(image, inputSize, false);
      const grid = net.forward(input.tensor);
      return { data: grid.floats(), cells: grid.shape[2] ?? 0, reshaped: input.reshaped, width: input.width, height: input.height };
    }),
  );
  return decodeTinyFaces({ data, cells }, reshaped, { width, height }, options);
}

/** Faces found by the SSD MobileNetV1 detector in an image tensor [1, 3, H, W] (RGB, 0..255); boxes in its pixels. */
export function detectFacesSsd(net: SsdMobilenet, image: Tensor, options: SsdFaceOptions = {}): FaceDetection[] {
  checkImage(image, 'detectFacesSsd');
  const { encodings, scores, reshaped, width, height } = noGrad(() =>
    tidy(() => {
      const input = toNetInput(image, SSD_INPUT, false);
      const out = net.outputs(input.tensor);
      return { encodings: out.encodings.floats(), scores: out.scores.floats(), reshaped: input.reshaped, width: input.width, height: input.height };
    }),
  );
  const corners = decodeSsdBoxes(encodings, net.anchors.floats());
  return decodeSsdFaces(corners, scores, reshaped, { width, height }, SSD_INPUT, options);
}
