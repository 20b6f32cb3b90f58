/**
 * ModelSpec → ONNX protobuf bytes. Field numbers are those of the official onnx/onnx.proto (proto2).
 */

import { ProtoWriter } from './protoWriter.js';
import {
  ATTRIBUTE_TYPE_CODE,
  ELEM_TYPE_CODE,
  type AttributeSpec,
  type GraphSpec,
  type ModelSpec,
  type NodeSpec,
  type TensorSpec,
  type ValueInfoSpec,
} from './onnxTypes.js';

/** onnx.proto field numbers, per message. */
export const F = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 },
  opset: { domain: 1, version: 2 },
  entry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attr: { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  typeTensor: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
} as const;

function tensor(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  w.ints(F.tensor.dims, t.dims);
  w.int(F.tensor.dataType, ELEM_TYPE_CODE[t.elemType]);
  if (t.name !== '') w.string(F.tensor.name, t.name);
  w.bytes(F.tensor.rawData, t.rawData);
  return w;
}

function attribute(a: AttributeSpec): ProtoWriter {
  const w = new ProtoWriter();
  w.string(F.attr.name, a.name);
  w.int(F.attr.type, ATTRIBUTE_TYPE_CODE[a.type]);
  switch (a.type) {
    case 'float':
      return w.float(F.attr.f, a.value);
    case 'int':
      return w.int(F.attr.i, a.value);
    case 'string':
      return w.string(F.attr.s, a.value);
    case 'floats':
      return w.floats(F.attr.floats, a.value);
    case 'ints':
      return w.ints(F.attr.ints, a.value);
    case 'tensor':
      return w.message(F.attr.t, tensor(a.value));
  }
}

function node(n: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(F.node.input, i);
  for (const o of n.outputs) w.string(F.node.output, o);
  if (n.name !== '') w.string(F.node.name, n.name);
  w.string(F.node.opType, n.opType);
  for (const a of n.attributes) w.message(F.node.attribute, attribute(a));
  if (n.domain !== '') w.string(F.node.domain, n.domain);
  return w;
}

function valueInfo(v: ValueInfoSpec): ProtoWriter {
  const tt = new ProtoWriter().int(F.typeTensor.elemType, ELEM_TYPE_CODE[v.elemType]);
  if (v.dims !== undefined) {
    const shape = new ProtoWriter();
    for (const d of v.dims) {
      const dim = new ProtoWriter();
      if (typeof d === 'string') dim.string(F.dim.param, d);
      else dim.int(F.dim.value, d);
      shape.message(F.shape.dim, dim);
    }
    tt.message(F.typeTensor.shape, shape);
  }
  const type = new ProtoWriter().message(F.type.tensorType, tt);
  return new ProtoWriter().string(F.valueInfo.name, v.name).message(F.valueInfo.type, type);
}

function graph(g: GraphSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(F.graph.node, node(n));
  w.string(F.graph.name, g.name);
  for (const t of g.initializers) w.message(F.graph.initializer, tensor(t));
  for (const v of g.inputs) w.message(F.graph.input, valueInfo(v));
  for (const v of g.outputs) w.message(F.graph.output, valueInfo(v));
  for (const v of g.valueInfo) w.message(F.graph.valueInfo, valueInfo(v));
  return w;
}

/** Serialise a model; the bytes load in onnxruntime-node / onnxruntime-web. */
export function encodeModel(m: ModelSpec): Uint8Array {
  const w = new ProtoWriter();
  w.int(F.model.irVersion, m.irVersion);
  w.string(F.model.producerName, m.producerName);
  if (m.producerVersion !== '') w.string(F.model.producerVersion, m.producerVersion);
  if (m.docString !== '') w.string(F.model.docString, m.docString);
  w.message(F.model.graph, graph(m.graph));
  for (const o of m.opsetImports) {
    const op = new ProtoWriter();
    if (o.domain !== '') op.string(F.opset.domain, o.domain);
    op.int(F.opset.version, o.version);
    w.message(F.model.opsetImport, op);
  }
  for (const [key, value] of m.metadata) {
    w.message(F.model.metadataProps, new ProtoWriter().string(F.entry.key, key).string(F.entry.value, value));
  }
  return w.finish();
}
