/**
 * The bundled SSD MobileNetV1 ONNX graph (exported for a 512² input) rewritten for another square input size:
 * the network is fully convolutional, so only the size-dependent constants change — the input's dims, the
 * explicit Pads before the stride-2 convs (recomputed as TF 'SAME' for the new sides — the extra row/column goes
 * after, an odd side pads both ways — and folded into the convs' own pads), the head reshapes
 * ([0, h, w, anchors, k] and [0, h·w·anchors, k]) and the output's anchor count. Weights are untouched; the
 * anchors for the size come from `ssdAnchors(size)`.
 */
import { ExpnetError } from '../errors.js';
import { decodeModel, encodeModel, type AttributeSpec, type NodeSpec, type TensorSpec } from '../formats/onnx/index.js';
import { ssdGrids } from './ssdAnchors.js';

function int64s(name: string, values: readonly number[]): TensorSpec {
  const raw = new Uint8Array(8 * values.length);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return { name, elemType: 'int64', dims: [values.length], rawData: raw };
}

const ints = (n: NodeSpec, name: string): readonly number[] | undefined => {
  const a = n.attributes.find((x): x is Extract<AttributeSpec, { type: 'ints' }> => x.name === name && x.type === 'ints');
  return a?.value;
};

/** TF 'SAME' padding (before, after) of a side n for kernel k and stride s. */
export function samePadding(n: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** ONNX bytes of the 512 detector → the same detector for a size×size input (size: a multiple of 32). */
export function ssdModelForSize(model512: Uint8Array, size: number, what = 'the SSD detector'): Uint8Array {
  const grids = ssdGrids(size);
  const m = decodeModel(model512);
  const g = m.graph;
  const input = g.inputs[0];
  if (g.inputs.length !== 1 || !input || input.dims?.[2] !== 512 || input.dims[3] !== 512) {
    throw new ExpnetError('BAD_MODEL', `${what}: expected one input [batch, 3, 512, 512], got ${JSON.stringify(g.inputs.map((i) => i.dims))}`);
  }
  const side = new Map<string, number>([[input.name, size]]);
  const consumers = new Map<string, NodeSpec>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, n);
  const replaced = new Map<string, TensorSpec>();
  let reshapes = 0;
  let perCell = 0;
  const folded = new Map<NodeSpec, [number, number]>();
  const renamed = new Map<string, string>();
  const nodes = g.nodes.map((n): NodeSpec | null => {
    const x = side.get(n.inputs[0] ?? '');
    const out = n.outputs[0] ?? '';
    const bad = (why: string): never => {
      throw new ExpnetError('BAD_MODEL', `${what}: node ${n.opType} '${n.name || out}': ${why}`);
    };
    if (n.opType === 'Concat' || n.opType === 'Slice' || n.opType === 'Squeeze' || n.opType === 'Unsqueeze' || x === undefined) return n;
    if (n.opType === 'Pad') {
      // folded into the Conv that follows (ONNX Conv takes asymmetric pads): no copy, and the conv chain stays
      // in ONNX Runtime's blocked layout
      const conv = consumers.get(out);
      const k = conv && ints(conv, 'kernel_shape')?.[0];
      const s = conv && ints(conv, 'strides')?.[0];
      if (!conv || conv.opType !== 'Conv' || k === undefined || s === undefined) return bad('expected a Conv after the Pad');
      folded.set(conv, samePadding(x, k, s));
      renamed.set(out, n.inputs[0] ?? '');
      side.set(out, x);
      return null;
    }
    if (n.opType === 'Conv') {
      const [k, s] = [ints(n, 'kernel_shape')?.[0] ?? 1, ints(n, 'strides')?.[0] ?? 1];
      const fold = folded.get(n);
      const p = ints(n, 'pads') ?? [0, 0, 0, 0];
      if (fold && p.some((v) => v !== 0)) bad('a Pad before a conv with its own pads');
      if (!fold && s !== 1 && p.some((v) => v !== 0)) bad('a strided conv with built-in pads (expected an explicit Pad)');
      const pads = fold ? [fold[0], fold[0], fold[1], fold[1]] : p;
      side.set(out, Math.floor((x + (pads[0] ?? 0) + (pads[2] ?? 0) - k) / s) + 1);
      if (!fold) return n;
      const attributes = [...n.attributes.filter((a) => a.name !== 'pads'), { name: 'pads', type: 'ints', value: pads } satisfies AttributeSpec];
      return { ...n, inputs: n.inputs.map((i) => renamed.get(i) ?? i), attributes };
    }
    if (n.opType === 'Reshape') {
      // per head, boxes then classes: [0, h, w, anchors, k] then [0, h·w·anchors, k] (input: the first's output)
      const first = reshapes % 2 === 0;
      const grid = grids[reshapes >> 2];
      if (grid === undefined || grid !== x) bad(`head ${reshapes >> 2}: feature map ${x}×${x}, expected ${grid}`);
      const shapeName = n.inputs[1] ?? '';
      const old = g.initializers.find((t) => t.name === shapeName);
      if (!old || old.elemType !== 'int64') return bad(`shape '${shapeName}' is not an int64 constant`);
      const v = Array.from({ length: old.dims[0] ?? 0 }, (_, i) => Number(new DataView(old.rawData.buffer, old.rawData.byteOffset).getBigInt64(8 * i, true)));
      if (first) perCell = v[3] ?? 0;
      const next = first ? [0, x, x, perCell, v[4] ?? 0] : [0, x * x * perCell, v[2] ?? 0];
      const name = `${shapeName}@${size}`;
      replaced.set(name, int64s(name, next));
      side.set(out, x);
      reshapes++;
      return { ...n, inputs: [n.inputs[0] ?? '', name] };
    }
    side.set(out, x); // elementwise and Transpose: the side is unchanged
    return n;
  }).filter((n): n is NodeSpec => n !== null);
  if (reshapes !== 4 * grids.length) throw new ExpnetError('BAD_MODEL', `${what}: found ${reshapes} head reshapes, expected ${4 * grids.length}`);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const anchors = grids.reduce((a, n, l) => a + n * n * (l === 0 ? 3 : 6), 0);
  const output = g.outputs[0];
  if (!output) throw new ExpnetError('BAD_MODEL', `${what}: no output`);
  return encodeModel({
    ...m,
    graph: {
      ...g,
      nodes,
      initializers: [...g.initializers.filter((t) => used.has(t.name)), ...replaced.values()],
      inputs: [{ ...input, dims: [input.dims[0] ?? 'batch', 3, size, size] }],
      outputs: [{ ...output, dims: [output.dims?.[0] ?? 'batch', anchors, 5] }],
      valueInfo: [],
    },
  });
}
