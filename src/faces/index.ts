/** Faces: face-api.js-compatible input preparation, detection decoding + NMS, landmarks, alignment. */
export * from './box.js';
export * from './rgbImage.js';
export * from './netInput.js';
export * from './nonMaxSuppression.js';
export * from './decodeTinyFaces.js';
export * from './decodeSsdFaces.js';
export * from './detectFaces.js';
export * from './landmarks.js';
export * from './align.js';
