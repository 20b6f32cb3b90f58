/**
 * `expnet/web`: the browser recognizer as a library for bundlers. Peer dependency: `onnxruntime-web`; serve its
 * `.wasm`/`.mjs` files and expnet's `models/` next to the page (or pass `wasmBase` and `modelBase`).
 */
export { WebRecognizer, type WebFace, type WebImageResult, type WebRecognizerOptions } from './webRecognizer.js';
export type { Source } from './pixels.js';
export { trackedLayout, WebcamTracks, type TrackedFrame } from './webcamTracks.js';
export { FaceTracker, type FaceTrackerOptions, type TrackedFace, type TrackSummary } from '../../src/infer/faceTracker.js';
export type { Box, Point } from '../../src/faces/box.js';
export type { ModelIndex } from '../../src/infer/bundleFiles.js';
export { EXPRESSION_LABELS, type ExpressionLabel as Expression } from '../../src/data/labels.js';
