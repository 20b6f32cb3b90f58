/** File names of a model folder (no Node imports: the browser app and its build share them). */
export const DETECTOR_FILE = 'ssd_mobilenetv1.onnx';
export const ANCHORS_FILE = 'ssd_mobilenetv1.anchors.bin';
export const LANDMARKS_FILE = 'face_landmark_68.onnx';
/**
 * The bundled default expression model (`<name>.onnx` + `<name>.json`, its card): FaceNet2ExpNet on FER2013 +
 * SFEW 2.0 + CK+48, chosen on the mean of the per-set validation accuracies (docs/RESULTS.md, seventh session);
 * the FER2013-only `expnet-fer2013` stays bundled, reachable by name.
 */
export const DEFAULT_EXPRESSION_MODEL = 'expnet-mix';

/**
 * Bundled expression models by role (issue 27): `--model fast` / `--model accurate` in predict, serve, explain, eval,
 * the library's `expressionModel` and the browser app. Each role names a model file of the folder; every other
 * bundled model (expnet-mix, expnet-fer2013, …) stays reachable by its own name.
 */
export const MODEL_ROLES = { fast: 'expnet-fast', accurate: 'expnet-accurate' } as const;
export type ModelRole = keyof typeof MODEL_ROLES;

/** The model name a role stands for (`fast` → `expnet-fast`); any other name unchanged. */
export function resolveModelName(name: string): string {
  return Object.hasOwn(MODEL_ROLES, name) ? MODEL_ROLES[name as ModelRole] : name;
}

/**
 * The browser's detector: the SSD rewritten for the default 384 input with 8-bit convolutions and int8 weights in
 * the file (src/infer/ssdInt8.ts), 6 MB instead of the float32 graph's 22 MB; web/build.ts makes it from
 * DETECTOR_FILE (the Node Recognizer makes the same graph in memory).
 */
export const DETECTOR_INT8_FILE = 'ssd_mobilenetv1.384.int8.onnx';
/** The input side DETECTOR_INT8_FILE was made for. */
export const DETECTOR_INT8_SIZE = 384;
/** The list of a model folder's expression models, as the browser app reads it (`models/index.json`). */
export const MODEL_INDEX_FILE = 'index.json';

/** What MODEL_INDEX_FILE holds: the expression models of the folder (each `<name>.onnx` + card) and the default. */
export interface ModelIndex {
  default: string;
  models: { name: string; labels: string[]; data: string }[];
}

/** The expression models bundled in models/, by name. */
export const BUNDLED_EXPRESSION_MODELS = ['expnet-mix', 'expnet-fer2013'] as const;
export type BundledExpressionModel = (typeof BUNDLED_EXPRESSION_MODELS)[number];
/**
 * The labels every bundled expression model outputs (in its own order; no contempt): the type of a Recognizer's
 * results on a bundled model (test/recognizerTypes.test.ts checks each card against this list).
 */
export const BUNDLED_EXPRESSIONS = ['anger', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise'] as const;
export type BundledExpression = (typeof BUNDLED_EXPRESSIONS)[number];
