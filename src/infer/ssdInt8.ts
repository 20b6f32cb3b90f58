/**
 * The SSD detector graph with 8-bit convolutions, in ONNX's QDQ form (QuantizeLinear → DequantizeLinear pairs
 * that ONNX Runtime fuses into QLinearConv at graph optimisation). No calibration data is needed: every
 * activation of MobileNetV1-SSD is a ReLU6 output, so its range is [0, 6] (uint8, scale 6/255, zero point 0),
 * and the input after `2x − 1` is [−1, 1] (scale 2/255, zero point 128). Weights are symmetric int8 per output
 * channel (max |w| / 127), biases int32 at the input scale × weight scale. The box-predictor heads (no ReLU6)
 * and the first FLOAT_CONVS convolutions stay float32. Zero points are made by Cast nodes from int32 constants
 * and weights are quantised by QuantizeLinear on their float constants (ONNX Runtime folds both at load); with
 * `int8Weights` the weights are stored as int8 tensors instead (the browser's file, a quarter of the bytes).
 */
import { ExpnetError } from '../errors.js';
import { decodeModel, encodeModel, tensorValues, type AttributeSpec, type NodeSpec, type TensorSpec } from '../formats/onnx/index.js';

/**
 * The first convolutions (conv0 and MobileNet pair 1, at half the input resolution) stay float32: quantising them
 * lost 4–5 of face-api's 6 faces on the 150×150 aligned crops of face-photos (upscaled inputs) and costs ~1 ms of
 * the ~14 ms int8 pass at 384 to keep.
 */
export const FLOAT_CONVS = 3;

const U8 = 2;
const I8 = 3;

const f32 = (name: string, v: ArrayLike<number>, dims: number[]): TensorSpec => ({ name, elemType: 'float32', dims, rawData: new Uint8Array(Float32Array.from(v).buffer) });
const i32 = (name: string, v: ArrayLike<number>, dims: number[]): TensorSpec => ({ name, elemType: 'int32', dims, rawData: new Uint8Array(Int32Array.from(v).buffer) });
const op = (opType: string, inputs: string[], output: string, attributes: AttributeSpec[] = []): NodeSpec => ({ opType, inputs, outputs: [output], name: output, domain: '', attributes });
const axis0: AttributeSpec[] = [{ name: 'axis', type: 'int', value: 0 }];

export interface QuantizeSsdOptions {
  /** Float32 convolutions at the start (default FLOAT_CONVS). */
  floatConvs?: number;
  /**
   * Store the quantised weights as int8 tensors in the file (~¼ of the float bytes: the browser's download)
   * instead of QuantizeLinear on the float constants (the Node Recognizer's in-memory graph). Default false.
   */
  int8Weights?: boolean;
}

/** Symmetric per-channel int8 of `w` (co × per) at scales `sw`, rounded half to even as QuantizeLinear does. */
function int8Of(w: ArrayLike<number | bigint>, sw: readonly number[], per: number): Int8Array {
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const x = Number(w[i]) / (sw[Math.floor(i / per)] ?? 1);
    const r = Math.round(x);
    const even = Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    q[i] = Math.max(-128, Math.min(127, even));
  }
  return q;
}

/** ONNX bytes of the float32 SSD (any input size) → the same detector with int8 convolutions. */
export function quantizeSsd(model: Uint8Array, what = 'the SSD detector', options: QuantizeSsdOptions = {}): Uint8Array {
  const { floatConvs = FLOAT_CONVS, int8Weights = false } = options;
  const m = decodeModel(model);
  const g = m.graph;
  if (!m.opsetImports.some((o) => o.domain === '' && o.version >= 13)) throw new ExpnetError('BAD_MODEL', `${what}: per-channel QDQ needs ONNX opset ≥ 13`);
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const consumers = new Map<string, NodeSpec[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const added: TensorSpec[] = [i32('q8.zero', [0], []), i32('q8.mid', [128], [])];
  const nodes: NodeSpec[] = [op('Cast', ['q8.zero'], 'q8.zp0', [{ name: 'to', type: 'int', value: U8 }]), op('Cast', ['q8.mid'], 'q8.zp128', [{ name: 'to', type: 'int', value: U8 }])];
  /** Dequantised name and scale of each quantised activation. */
  const act = new Map<string, { name: string; scale: number }>();
  const qdq = (t: string, scale: number, zp: string): void => {
    added.push(f32(`${t}.qs`, [scale], []));
    nodes.push(op('QuantizeLinear', [t, `${t}.qs`, zp], `${t}.q`), op('DequantizeLinear', [`${t}.q`, `${t}.qs`, zp], `${t}.dq`));
    act.set(t, { name: `${t}.dq`, scale });
  };
  let quantised = 0;
  let seen = 0;
  for (const n of g.nodes) {
    const out = n.outputs[0] ?? '';
    const input = act.get(n.inputs[0] ?? '');
    const next = consumers.get(out) ?? [];
    const inputs = n.inputs.map((i) => act.get(i)?.name ?? i);
    const w = inits.get(n.inputs[1] ?? '');
    const b = inits.get(n.inputs[2] ?? '');
    const index = n.opType === 'Conv' && next.length === 1 && next[0]?.opType === 'Clip' ? seen++ : -1;
    if (index >= floatConvs && input && w && b) {
      const wv = tensorValues(w);
      const co = w.dims[0] ?? 0;
      const per = wv.length / co;
      const sw = Array.from({ length: co }, (_, c) => {
        let mx = 0;
        for (let i = 0; i < per; i++) mx = Math.max(mx, Math.abs(Number(wv[c * per + i])));
        return Math.max(mx, 1e-12) / 127;
      });
      const bv = tensorValues(b);
      added.push(
        f32(`${out}.ws`, sw, [co]),
        i32(`${out}.wzp32`, new Int32Array(co), [co]),
        i32(`${out}.bq`, sw.map((s, c) => Math.round(Number(bv[c]) / (s * input.scale))), [co]),
        f32(`${out}.bs`, sw.map((s) => s * input.scale), [co]),
        i32(`${out}.bzp`, new Int32Array(co), [co]),
      );
      if (int8Weights) added.push({ name: `${out}.wq`, elemType: 'int8', dims: w.dims, rawData: new Uint8Array(int8Of(wv, sw, per).buffer) });
      nodes.push(
        op('Cast', [`${out}.wzp32`], `${out}.wzp`, [{ name: 'to', type: 'int', value: I8 }]),
        ...(int8Weights ? [] : [op('QuantizeLinear', [w.name, `${out}.ws`, `${out}.wzp`], `${out}.wq`, axis0)]),
        op('DequantizeLinear', [`${out}.wq`, `${out}.ws`, `${out}.wzp`], `${out}.wdq`, axis0),
        op('DequantizeLinear', [`${out}.bq`, `${out}.bs`, `${out}.bzp`], `${out}.bdq`, axis0),
        { ...n, inputs: [input.name, `${out}.wdq`, `${out}.bdq`] },
      );
      quantised++;
    } else {
      nodes.push({ ...n, inputs });
    }
    // activations are quantised only where a quantised conv reads them (the next Conv → Clip conv's index is seen)
    if (floatConvs === 0 && n.opType === 'Sub' && consumers.get(out)?.some((c) => c.opType === 'Conv')) qdq(out, 2 / 255, 'q8.zp128');
    if (n.opType === 'Clip' && seen >= floatConvs) qdq(out, 6 / 255, 'q8.zp0');
  }
  if (quantised === 0) throw new ExpnetError('BAD_MODEL', `${what}: no Conv → Clip pairs to quantise`);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  return encodeModel({ ...m, graph: { ...g, nodes, initializers: [...g.initializers, ...added].filter((t) => used.has(t.name)) } });
}
