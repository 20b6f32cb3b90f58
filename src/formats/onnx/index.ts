/** ONNX files as plain data: the protobuf writer and reader, a graph builder and layer emitters; independent of the tensor engine. */

export * from './onnxTypes.js';
export { encodeModel } from './encodeModel.js';
export { decodeModel } from './decodeModel.js';
export { float16BitsToFloat32, float32ToFloat16Bits, tensorValues, type TensorData } from './tensorData.js';
export { GraphBuilder, DEFAULT_IR_VERSION, DEFAULT_OPSET, type AttrValue, type ConstantTensor, type ModelOptions } from './graphBuilder.js';
export type { BatchNormParams, ConvWeights, FloatTensor, LayerNaming, LinearWeights, Pads2d, Pair } from './layerCommon.js';
export { foldBatchNorm } from './foldBatchNorm.js';
export { batchNorm, conv2d, conv2dBn, type Conv2dOptions } from './convLayers.js';
export { averagePool, globalAveragePool, maxPool, type AveragePoolOptions, type MaxPoolOptions, type PoolOptions } from './poolLayers.js';
export { clip, leakyRelu, relu, relu6, sigmoid, softmax } from './activations.js';
export { flatten, gemm, linear, type GemmOptions } from './linearLayers.js';
export {
  add,
  concat,
  div,
  mul,
  pad,
  reshape,
  resize,
  spatialPads,
  sub,
  transpose,
  type CoordinateTransformationMode,
  type NearestMode,
  type Operand,
  type PadMode,
  type PadOptions,
  type ResizeOptions,
} from './tensorOps.js';
