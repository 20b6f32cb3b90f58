/** The tiny face detector's grid → face boxes, as face-api.js's `TinyYolov2Base.extractBoxes` + `detect`. */
import { ExpnetError } from '../errors.js';
import { TINY_FACE_ANCHORS } from '../nets/tinyFaceDetector.js';
import type { FaceDetection } from './box.js';
import { nonMaxSuppression } from './nonMaxSuppression.js';

export interface TinyFaceOptions {
  /** Keep cells whose sigmoid(to) is above this (face-api default 0.5). */
  scoreThreshold?: number;
  /** NMS IoU threshold (face-api: 0.4, fixed). */
  iouThreshold?: number;
}
export const TINY_FACE_DEFAULTS: Required<TinyFaceOptions> = { scoreThreshold: 0.5, iouThreshold: 0.4 };

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export interface TinyGrid {
  /** One image's grid, NCHW [25, S, S]: channel = anchor·5 + (tx, ty, tw, th, to). */
  data: ArrayLike<number>;
  /** S = inputSize / 32. */
  cells: number;
}

/**
 * Face boxes in pixels of the original image (width × height) from one image's raw grid; `reshaped` is the
 * image's size inside the padded input square (`toNetInput(...).reshaped`). Boxes are not clipped.
 */
export function decodeTinyFaces(
  grid: TinyGrid,
  reshaped: { width: number; height: number },
  image: { width: number; height: number },
  options: TinyFaceOptions = {},
): FaceDetection[] {
  const { scoreThreshold, iouThreshold } = { ...TINY_FACE_DEFAULTS, ...options };
  const S = grid.cells;
  const A = TINY_FACE_ANCHORS.length;
  if (grid.data.length !== A * 5 * S * S) {
    throw new ExpnetError('BAD_INPUT', `decodeTinyFaces: expected ${A * 5}×${S}×${S} grid values, got ${grid.data.length}`);
  }
  const inputSize = Math.max(reshaped.width, reshaped.height);
  const cX = inputSize / reshaped.width;
  const cY = inputSize / reshaped.height;
  const at = (a: number, k: number, row: number, col: number): number => grid.data[((a * 5 + k) * S + row) * S + col] as number;
  const boxes: { x: number; y: number; width: number; height: number }[] = [];
  const scores: number[] = [];
  for (let row = 0; row < S; row++) {
    for (let col = 0; col < S; col++) {
      for (let a = 0; a < A; a++) {
        const score = sigmoid(at(a, 4, row, col));
        if (scoreThreshold && !(score > scoreThreshold)) continue;
        const [aw, ah] = TINY_FACE_ANCHORS[a] as readonly [number, number];
        const ctX = ((col + sigmoid(at(a, 0, row, col))) / S) * cX;
        const ctY = ((row + sigmoid(at(a, 1, row, col))) / S) * cY;
        const w = ((Math.exp(at(a, 2, row, col)) * aw) / S) * cX;
        const h = ((Math.exp(at(a, 3, row, col)) * ah) / S) * cY;
        const x = ctX - w / 2;
        const y = ctY - h / 2;
        // face-api builds BoundingBox(x, y, x + w, y + h) and reads width back as right − left.
        boxes.push({ x, y, width: x + w - x, height: y + h - y });
        scores.push(score);
      }
    }
  }
  const scaled = boxes.map((b) => ({ x: b.x * inputSize, y: b.y * inputSize, width: b.width * inputSize, height: b.height * inputSize }));
  return nonMaxSuppression(scaled, scores, iouThreshold).map((i) => {
    const b = boxes[i] as { x: number; y: number; width: number; height: number };
    return { x: b.x * image.width, y: b.y * image.height, width: b.width * image.width, height: b.height * image.height, score: scores[i] as number };
  });
}
