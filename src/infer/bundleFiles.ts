/** File names of a model folder (no Node imports: the browser app and its build share them). */
export const DETECTOR_FILE = 'ssd_mobilenetv1.onnx';
export const ANCHORS_FILE = 'ssd_mobilenetv1.anchors.bin';
export const LANDMARKS_FILE = 'face_landmark_68.onnx';
/** The bundled default expression model (`<name>.onnx` + `<name>.json`, its card). */
export const DEFAULT_EXPRESSION_MODEL = 'expnet-fer2013';
