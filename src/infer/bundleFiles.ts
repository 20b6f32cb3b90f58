/** File names of a model folder (no Node imports: the browser app and its build share them). */
export const DETECTOR_FILE = 'ssd_mobilenetv1.onnx';
export const ANCHORS_FILE = 'ssd_mobilenetv1.anchors.bin';
export const LANDMARKS_FILE = 'face_landmark_68.onnx';
/**
 * The bundled default expression model (`<name>.onnx` + `<name>.json`, its card): `expnet-accurate`, one graph
 * averaging the FER2013 student (expnet-fer2013) and the FER2013 + SFEW + CK+ student (expnet-mix), each on the face
 * and its mirror image, ~2.5 ms per face. Chosen by the validation suite's rule (½ posed photos through the pipeline +
 * ½ own validation carve; docs/RESULTS.md, twelfth session); the whole photo pipeline stays ≥ 8× faster than
 * face-api.js (CPU time). `expnet-fast` (= expnet-fer2013, ~0.6 ms per face) and expnet-mix stay reachable by name.
 */
export const DEFAULT_EXPRESSION_MODEL = 'expnet-accurate';
/** What `expnet explain` explains by default: one student rebuilt in libtorch (the default model averages two students and their mirror images). */
export const DEFAULT_EXPLAIN_MODEL = 'expnet-fast';

/**
 * Bundled expression models by role (issue 27): `--model fast` / `--model accurate` in predict, serve, explain, eval,
 * the library's `expressionModel` and the browser app. Each role names a model file of the folder; every other
 * bundled model (expnet-mix, expnet-fer2013, …) stays reachable by its own name.
 */
export const MODEL_ROLES = { fast: 'expnet-fast', accurate: 'expnet-accurate' } as const;
export type ModelRole = keyof typeof MODEL_ROLES;
/**
 * Bundled names whose file has another name: `expnet-fast` is the FER2013 student `expnet-fer2013` (chosen by the
 * validation suite's rule, docs/RESULTS.md "Twelfth session"), shipped once under its old name.
 */
export const MODEL_ALIASES: Readonly<Record<string, string>> = { 'expnet-fast': 'expnet-fer2013' };

/** The model file a role or bundled name stands for (`fast` → `expnet-fast` → `expnet-fer2013`); any other name unchanged. */
export function resolveModelName(name: string): string {
  const named = Object.hasOwn(MODEL_ROLES, name) ? MODEL_ROLES[name as ModelRole] : name;
  return Object.hasOwn(MODEL_ALIASES, named) ? (MODEL_ALIASES[named] ?? named) : named;
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

/** The expression models bundled in models/, by name (the roles and aliases above included). */
export const BUNDLED_EXPRESSION_MODELS = ['expnet-accurate', 'expnet-fast', 'accurate', 'fast', 'expnet-mix', 'expnet-fer2013'] as const;
export type BundledExpressionModel = (typeof BUNDLED_EXPRESSION_MODELS)[number];
/**
 * The labels every bundled expression model outputs (in its own order; no contempt): the type of a Recognizer's
 * results on a bundled model (test/recognizerTypes.test.ts checks each card against this list).
 */
export const BUNDLED_EXPRESSIONS = ['anger', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise'] as const;
export type BundledExpression = (typeof BUNDLED_EXPRESSIONS)[number];
