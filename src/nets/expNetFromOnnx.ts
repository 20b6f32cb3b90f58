/**
 * An exported expression model (.onnx, as `expnet export`/`expnet bundle` write it) read back into a libtorch
 * ExpNet, so that gradient tools (Grad-CAM) work on the bundled model. The export folds each BatchNorm into its
 * conv, so the net comes back without BatchNorm layers (conv with bias + ReLU) — the same function in eval
 * mode. The graph must be the ExpNet chain its card describes: 5 Convs (3×3, pad 1) with ReLU and max-pools,
 * then 1 or 2 Gemms; every weight's shape is checked against the card's config, nothing is guessed.
 */
import { readFileSync } from 'node:fs';
import { ExpnetError, fsReason } from '../errors.js';
import { decodeModel, tensorValues, type GraphSpec, type TensorSpec } from '../formats/onnx/index.js';
import { tensor } from '../engine/creation.js';
import { noGrad } from '../engine/runtime.js';
import { ExpNet, type ExpNetConfig } from './expNet.js';

function initializer(g: GraphSpec, name: string | undefined, what: string, file: string): TensorSpec {
  const t = g.initializers.find((i) => i.name === name);
  if (!t) throw new ExpnetError('BAD_MODEL', `${file}: ${what} '${name ?? ''}' is not a constant of the graph (expected an exported ExpNet)`);
  if (t.elemType !== 'float32') throw new ExpnetError('BAD_MODEL', `${file}: ${what} '${t.name}' is ${t.elemType}, expected float32`);
  return t;
}

/** ExpNet (eval mode, BatchNorm folded) from ONNX bytes whose card gives `config`. */
export function expNetFromOnnx(bytes: Uint8Array, config: ExpNetConfig, file = 'the ONNX model'): ExpNet {
  const g = decodeModel(bytes).graph;
  const weights: { name: string; t: TensorSpec }[] = [];
  const convs = g.nodes.filter((n) => n.opType === 'Conv');
  const gemms = g.nodes.filter((n) => n.opType === 'Gemm');
  const linears = config.fcHidden > 0 ? 2 : 1;
  if (convs.length !== 5 || gemms.length !== linears) {
    throw new ExpnetError('BAD_MODEL', `${file}: expected 5 Conv and ${linears} Gemm nodes (an exported ExpNet), found ${convs.length} and ${gemms.length}`);
  }
  convs.forEach((n, i) => {
    weights.push({ name: `block${i + 1}.0.weight`, t: initializer(g, n.inputs[1], `conv ${i + 1} weight`, file) });
    weights.push({ name: `block${i + 1}.0.bias`, t: initializer(g, n.inputs[2], `conv ${i + 1} bias`, file) });
  });
  gemms.forEach((n, i) => {
    const transB = n.attributes.find((a) => a.name === 'transB');
    if (!transB || transB.type !== 'int' || transB.value !== 1) throw new ExpnetError('BAD_MODEL', `${file}: Gemm ${i + 1} is not x·Wᵀ + b (transB=1)`);
    const layer = config.fcHidden > 0 ? (i === 0 ? 'head.0' : 'head.3') : 'head.1';
    weights.push({ name: `${layer}.weight`, t: initializer(g, n.inputs[1], `linear ${i + 1} weight`, file) });
    weights.push({ name: `${layer}.bias`, t: initializer(g, n.inputs[2], `linear ${i + 1} bias`, file) });
  });
  const net = new ExpNet({ ...config, batchNorm: false });
  try {
    const state = new Map(weights.map(({ name, t }) => [name, tensor(tensorValues(t) as Float32Array, [...t.dims])]));
    try {
      noGrad(() => net.loadStateDict(state));
    } catch (err) {
      throw new ExpnetError('BAD_MODEL', `${file}: its weights do not fit the card's ExpNet config: ${(err as Error).message}`, { cause: err });
    } finally {
      for (const t of state.values()) t.dispose();
    }
  } catch (err) {
    net.dispose();
    throw err;
  }
  return net.eval();
}

/** The same from a file. */
export function loadExpNetOnnx(path: string, config: ExpNetConfig): ExpNet {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new ExpnetError('NOT_FOUND', `${path}: cannot read the ONNX model (${fsReason(err)})`, { cause: err });
  }
  return expNetFromOnnx(bytes, config, path);
}
