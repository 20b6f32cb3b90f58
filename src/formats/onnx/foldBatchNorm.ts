/** Fold an inference-mode BatchNorm2d into the convolution before it. */

import { checkLength, checkTensor, type BatchNormParams, type ConvWeights } from './layerCommon.js';

/**
 * conv → bn  ==  conv' with W'[o] = W[o]·s[o], b'[o] = (b[o] − mean[o])·s[o] + beta[o], s = gamma / √(var + eps).
 * Computed in float64, rounded once to float32. The inputs are not modified.
 */
export function foldBatchNorm(conv: ConvWeights, bn: BatchNormParams): ConvWeights {
  checkTensor(conv.weight, 4, 'foldBatchNorm conv.weight');
  const outC = conv.weight.shape[0] ?? 0;
  const per = conv.weight.data.length / Math.max(outC, 1);
  checkLength(bn.weight, outC, 'foldBatchNorm bn.weight');
  checkLength(bn.bias, outC, 'foldBatchNorm bn.bias');
  checkLength(bn.runningMean, outC, 'foldBatchNorm bn.runningMean');
  checkLength(bn.runningVar, outC, 'foldBatchNorm bn.runningVar');
  if (conv.bias !== undefined) checkTensor(conv.bias, 1, 'foldBatchNorm conv.bias');
  if (conv.bias !== undefined) checkLength(conv.bias.data, outC, 'foldBatchNorm conv.bias');
  const w = new Float32Array(conv.weight.data.length);
  const b = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const s = (bn.weight[o] ?? 0) / Math.sqrt((bn.runningVar[o] ?? 0) + bn.eps);
    for (let i = o * per; i < (o + 1) * per; i++) w[i] = (conv.weight.data[i] ?? 0) * s;
    b[o] = ((conv.bias?.data[o] ?? 0) - (bn.runningMean[o] ?? 0)) * s + (bn.bias[o] ?? 0);
  }
  return { weight: { data: w, shape: [...conv.weight.shape] }, bias: { data: b, shape: [outC] } };
}
