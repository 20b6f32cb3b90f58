/** The two greedy NMS variants of face-api.js, reproduced decision for decision. */
import type { Box } from './box.js';
import { iou } from './box.js';

/**
 * face-api `ops/nonMaxSuppression` (tiny detector): take the best remaining box, drop every other box whose
 * IoU with it is above `iouThreshold`, repeat; no score threshold, no count limit. Returns kept indices, best
 * first (ties: the later index first, as face-api's stable ascending sort + pop).
 */
export function nonMaxSuppression(boxes: readonly Box[], scores: readonly number[], iouThreshold: number): number[] {
  let order = scores.map((score, i) => ({ score, i })).sort((a, b) => a.score - b.score).map((c) => c.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const curr = order.pop() as number;
    pick.push(curr);
    const currBox = boxes[curr] as Box;
    order = order.filter((j) => iou(currBox, boxes[j] as Box) <= iouThreshold);
  }
  return pick;
}

/** IoU of two (ymin, xmin, ymax, xmax) boxes of a flat array, as face-api's SSD NMS (corners sorted, empty → 0). */
function cornerIou(b: ArrayLike<number>, i: number, j: number): number {
  const c = (k: number, o: number): number => b[4 * k + o] as number;
  const [yi0, yi1] = [Math.min(c(i, 0), c(i, 2)), Math.max(c(i, 0), c(i, 2))];
  const [xi0, xi1] = [Math.min(c(i, 1), c(i, 3)), Math.max(c(i, 1), c(i, 3))];
  const [yj0, yj1] = [Math.min(c(j, 0), c(j, 2)), Math.max(c(j, 0), c(j, 2))];
  const [xj0, xj1] = [Math.min(c(j, 1), c(j, 3)), Math.max(c(j, 1), c(j, 3))];
  const areaI = (yi1 - yi0) * (xi1 - xi0);
  const areaJ = (yj1 - yj0) * (xj1 - xj0);
  if (areaI <= 0 || areaJ <= 0) return 0;
  const inter = Math.max(Math.min(yi1, yj1) - Math.max(yi0, yj0), 0) * Math.max(Math.min(xi1, xj1) - Math.max(xi0, xj0), 0);
  return inter / (areaI + areaJ - inter);
}

/**
 * face-api `ssdMobilenetv1/nonMaxSuppression`: candidates with score > `scoreThreshold`, best first (stable);
 * a candidate is kept unless a kept box overlaps it with IoU > `iouThreshold`; at most `maxOutput` kept.
 * `corners` is flat (ymin, xmin, ymax, xmax) per box. Returns kept indices in order.
 */
export function ssdNonMaxSuppression(
  corners: ArrayLike<number>,
  scores: ArrayLike<number>,
  maxOutput: number,
  iouThreshold: number,
  scoreThreshold: number,
): number[] {
  const limit = Math.min(maxOutput, scores.length);
  const candidates: { score: number; i: number }[] = [];
  for (let i = 0; i < scores.length; i++) if ((scores[i] as number) > scoreThreshold) candidates.push({ score: scores[i] as number, i });
  candidates.sort((a, b) => b.score - a.score);
  const selected: number[] = [];
  for (const c of candidates) {
    if (selected.length >= limit) break;
    if (!selected.some((s) => cornerIou(corners, c.i, s) > iouThreshold)) selected.push(c.i);
  }
  return selected;
}
