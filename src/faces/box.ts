/** Face boxes in pixels (x, y = top-left corner), IoU and border clipping as face-api.js computes them. */

/** A point in continuous pixel coordinates (pixel (i, j) has its centre at (i + 0.5, j + 0.5)). */
export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A detected face: its box in pixels of the input image (not clipped) and the detector's score in (0, 1). */
export interface FaceDetection extends Box {
  score: number;
}

/** Intersection over union (face-api `ops/iou`; boxes with negative sizes give nonsense, as there). */
export function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** The box clipped to the image, then floored (face-api `Box.clipAtImageBorders`, used to crop faces). */
export function clipBox(box: Box, imageWidth: number, imageHeight: number): Box {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const width = Math.min(box.x + box.width - x, imageWidth - x);
  const height = Math.min(box.y + box.height - y, imageHeight - y);
  return { x: Math.floor(x), y: Math.floor(y), width: Math.floor(width), height: Math.floor(height) };
}
