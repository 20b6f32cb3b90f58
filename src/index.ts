/**
 * `expnet`: the Recognizer (detect → 68 landmarks → align → classify every face of a photo on ONNX Runtime, no
 * libtorch), its types and errors. The engine is `expnet/engine`, training is `expnet/train`, the browser
 * recognizer is `expnet/web`.
 */
export { createRecognizer, Recognizer, type BatchOptions, type BatchResult, type BundledRecognizerOptions, type ImageResult, type RecognizerOptions } from './infer/recognizer.js';
export type { DetectorPrecision, Expressions, Face, FaceLabel } from './infer/facePipeline.js';
export { BUNDLED_EXPRESSION_MODELS, BUNDLED_EXPRESSIONS, type BundledExpression, type BundledExpressionModel } from './infer/bundleFiles.js';
export type { Box, Point } from './faces/box.js';
export type { SsdFaceOptions } from './faces/decodeSsdFaces.js';
export type { ImageInput, RawImage } from './infer/readImage.js';
export type { SessionOptions } from './infer/ortSession.js';
export { bundledModelDir, DEFAULT_EXPRESSION_MODEL, loadBundle, MODEL_ROLES, resolveModelName, samplePhoto, type BundledCard, type ModelBundle, type ModelRole } from './infer/modelBundle.js';
export { annotatePng, overlaySvg } from './infer/annotate.js';
export { VideoRun, type VideoFrameResult, type VideoOptions } from './infer/videoRun.js';
export { probeVideo, videoFrames, type VideoFrame, type VideoInfo, type VideoSourceOptions } from './infer/videoSource.js';
export { KEYFRAME_DEFAULTS, KeyframeFaces, type FramePipeline, type KeyframeOptions } from './infer/keyframeFaces.js';
export { FaceTracker, largestFace, TRACKER_DEFAULTS, type FaceTrackerOptions, type Smoothing, type TrackedFace, type TrackSummary } from './infer/faceTracker.js';
export { EXPRESSION_LABELS, isExpressionLabel, type ExpressionLabel as Expression } from './data/labels.js';
export { ExpnetError, type ExpnetErrorCode } from './errors.js';
export { expnetVersion } from './version.js';
