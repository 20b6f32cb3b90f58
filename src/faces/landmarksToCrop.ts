/** The landmark net's raw outputs mapped back to pixels, in plain JS (shared by libtorch and ONNX Runtime paths). */
import { ExpnetError } from '../errors.js';
import type { Point } from './box.js';

const f = Math.fround;

/**
 * The net's 136 outputs (x0, y0, x1, y1, … relative to the centred-padded inputSize² square) → 68 points in
 * pixels of the crop it saw (face-api `FaceLandmark68NetBase.postProcess`, float32 like its tensor math, then
 * × size).
 */
export function landmarksToCrop(raw: ArrayLike<number>, width: number, height: number, inputSize: number): Point[] {
  if (raw.length !== 136) throw new ExpnetError('BAD_INPUT', `landmarksToCrop: expected 136 values, got ${raw.length}`);
  const scale = inputSize / Math.max(width, height);
  const sw = width * scale;
  const sh = height * scale;
  const padX = sw < sh ? Math.abs(sw - sh) / 2 : 0;
  const padY = sh < sw ? Math.abs(sw - sh) / 2 : 0;
  const out: Point[] = [];
  for (let i = 0; i < 68; i++) {
    const rx = f(f(f(f(raw[2 * i] as number) * inputSize) - f(padX)) / f(sw));
    const ry = f(f(f(f(raw[2 * i + 1] as number) * inputSize) - f(padY)) / f(sh));
    out.push({ x: rx * width, y: ry * height });
  }
  return out;
}
