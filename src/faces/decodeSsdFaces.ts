/** SSD MobileNetV1 box encodings → face boxes, as face-api.js's `outputLayer` + `locateFaces` (float32 decode). */
import { ExpnetError } from '../errors.js';
import type { FaceDetection } from './box.js';
import { ssdNonMaxSuppression } from './nonMaxSuppression.js';

export interface SsdFaceOptions {
  /** Keep anchors whose face score is above this (face-api default 0.5). */
  minConfidence?: number;
  /** At most this many faces (face-api default 100). */
  maxResults?: number;
  /** NMS IoU threshold (face-api: 0.5, fixed). */
  iouThreshold?: number;
}
export const SSD_FACE_DEFAULTS: Required<SsdFaceOptions> = { minConfidence: 0.5, maxResults: 100, iouThreshold: 0.5 };

const f = Math.fround;

/**
 * Anchor-relative encodings (ty, tx, th, tw; TF OD API scales 10, 10, 5, 5) → corners (ymin, xmin, ymax, xmax)
 * relative to the padded input square, computed in float32 op for op as face-api's `decodeBoxesLayer`.
 */
export function decodeSsdBoxes(encodings: ArrayLike<number>, anchors: ArrayLike<number>): Float32Array {
  if (encodings.length !== anchors.length || encodings.length % 4 !== 0) {
    throw new ExpnetError('BAD_INPUT', `decodeSsdBoxes: expected K×4 encodings and anchors, got ${encodings.length} and ${anchors.length}`);
  }
  const out = new Float32Array(encodings.length);
  for (let k = 0; k < encodings.length; k += 4) {
    const [y0, x0, y1, x1] = [0, 1, 2, 3].map((o) => anchors[k + o] as number) as [number, number, number, number];
    const [ty, tx, th, tw] = [0, 1, 2, 3].map((o) => encodings[k + o] as number) as [number, number, number, number];
    const ha = f(y1 - y0);
    const wa = f(x1 - x0);
    const yc = f(y0 + f(ha / 2));
    const xc = f(x0 + f(wa / 2));
    const halfH = f(f(f(Math.exp(f(th / 5))) * ha) / 2);
    const cy = f(f(f(ty / 10) * ha) + yc);
    const halfW = f(f(f(Math.exp(f(tw / 5))) * wa) / 2);
    const cx = f(f(f(tx / 10) * wa) + xc);
    out[k] = cy - halfH;
    out[k + 1] = cx - halfW;
    out[k + 2] = cy + halfH;
    out[k + 3] = cx + halfW;
  }
  return out;
}

/**
 * Face boxes in pixels of the original image (width × height) from one image's decoded corners [K·4] and face
 * scores [K]; `reshaped` is the image's size inside the padded 512 square (`toNetInput(...).reshaped`).
 * Boxes are clipped to the padded square (so they may reach into the padding past the right/bottom edge).
 */
export function decodeSsdFaces(
  corners: ArrayLike<number>,
  scores: ArrayLike<number>,
  reshaped: { width: number; height: number },
  image: { width: number; height: number },
  inputSize: number,
  options: SsdFaceOptions = {},
): FaceDetection[] {
  const { minConfidence, maxResults, iouThreshold } = { ...SSD_FACE_DEFAULTS, ...options };
  if (corners.length !== scores.length * 4) {
    throw new ExpnetError('BAD_INPUT', `decodeSsdFaces: expected 4 corners per score, got ${corners.length} and ${scores.length}`);
  }
  const padX = inputSize / reshaped.width;
  const padY = inputSize / reshaped.height;
  // NMS compares the boxes as they are reported — clipped to the image — not the anchors' raw extent: a face
  // filling a crop gives boxes reaching far past its edges whose raw IoU is under the threshold while the
  // reported boxes nearly coincide (duplicates). Far from the borders the two are the same (face-api's NMS).
  const clipped = new Float32Array(corners.length);
  for (let k = 0; k < corners.length; k += 4) {
    clipped[k] = Math.min(Math.max(corners[k] as number, 0), 1 / padY);
    clipped[k + 1] = Math.min(Math.max(corners[k + 1] as number, 0), 1 / padX);
    clipped[k + 2] = Math.min(Math.max(corners[k + 2] as number, 0), 1 / padY);
    clipped[k + 3] = Math.min(Math.max(corners[k + 3] as number, 0), 1 / padX);
  }
  return ssdNonMaxSuppression(clipped, scores, maxResults, iouThreshold, minConfidence).map((i) => {
    const c = (o: number): number => corners[4 * i + o] as number;
    const top = Math.max(0, c(0)) * padY;
    const bottom = Math.min(1, c(2)) * padY;
    const left = Math.max(0, c(1)) * padX;
    const right = Math.min(1, c(3)) * padX;
    return {
      x: left * image.width,
      y: top * image.height,
      width: (right - left) * image.width,
      height: (bottom - top) * image.height,
      score: scores[i] as number,
    };
  });
}
