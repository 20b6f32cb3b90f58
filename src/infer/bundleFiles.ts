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
