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

/** The expression models bundled in models/, by name. */
export const BUNDLED_EXPRESSION_MODELS = ['expnet-mix', 'expnet-fer2013'] as const;
export type BundledExpressionModel = (typeof BUNDLED_EXPRESSION_MODELS)[number];
/**
 * The labels every bundled expression model outputs (in its own order; no contempt): the type of a Recognizer's
 * results on a bundled model (test/recognizerTypes.test.ts checks each card against this list).
 */
export const BUNDLED_EXPRESSIONS = ['anger', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise'] as const;
export type BundledExpression = (typeof BUNDLED_EXPRESSIONS)[number];
