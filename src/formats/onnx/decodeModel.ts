/** ONNX protobuf bytes → ModelSpec, for the subset encodeModel writes (used by tests and model inspection). */

import { ExpnetError } from '../../errors.js';
import { F } from './encodeModel.js';
import { asBytes, asFloats, asInt, asInts, asString, readFields } from './protoReader.js';
import {
  ATTRIBUTE_TYPE_CODE,
  elemTypeOfCode,
  type AttributeSpec,
  type AttributeType,
  type Dim,
  type ElemType,
  type GraphSpec,
  type ModelSpec,
  type NodeSpec,
  type OpsetImport,
  type TensorSpec,
  type ValueInfoSpec,
} from './onnxTypes.js';

function bad(message: string): never {
  throw new ExpnetError('BAD_MODEL', `ONNX decode: ${message}`);
}

function elemType(code: number, where: string): ElemType {
  const t = elemTypeOfCode(code);
  if (t === undefined) bad(`${where}: data type ${code} is not one of FLOAT(1), INT32(6), INT64(7), FLOAT16(10)`);
  return t;
}

function tensor(buf: Uint8Array): TensorSpec {
  const dims: number[] = [];
  let code = 0;
  let name = '';
  let rawData: Uint8Array | undefined;
  for (const f of readFields(buf)) {
    if (f.field === F.tensor.dims) dims.push(...asInts(f));
    else if (f.field === F.tensor.dataType) code = asInt(f);
    else if (f.field === F.tensor.name) name = asString(f);
    else if (f.field === F.tensor.rawData) rawData = asBytes(f);
    else if (f.field >= 4 && f.field <= 7) bad(`tensor '${name}': typed *_data field ${f.field}; only raw_data is supported`);
  }
  if (rawData === undefined) bad(`tensor '${name}' has no raw_data`);
  return { name, elemType: elemType(code, `tensor '${name}'`), dims, rawData };
}

function attribute(buf: Uint8Array): AttributeSpec {
  let name = '';
  let typeCode = 0;
  let f32 = 0;
  let i64 = 0;
  let s = '';
  let t: TensorSpec | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  for (const f of readFields(buf)) {
    if (f.field === F.attr.name) name = asString(f);
    else if (f.field === F.attr.type) typeCode = asInt(f);
    else if (f.field === F.attr.f) f32 = asFloats(f)[0] ?? 0;
    else if (f.field === F.attr.i) i64 = asInt(f);
    else if (f.field === F.attr.s) s = asString(f);
    else if (f.field === F.attr.t) t = tensor(asBytes(f));
    else if (f.field === F.attr.floats) floats.push(...asFloats(f));
    else if (f.field === F.attr.ints) ints.push(...asInts(f));
  }
  const type = (Object.keys(ATTRIBUTE_TYPE_CODE) as AttributeType[]).find((k) => ATTRIBUTE_TYPE_CODE[k] === typeCode);
  switch (type) {
    case 'float':
      return { name, type, value: f32 };
    case 'int':
      return { name, type, value: i64 };
    case 'string':
      return { name, type, value: s };
    case 'floats':
      return { name, type, value: floats };
    case 'ints':
      return { name, type, value: ints };
    case 'tensor':
      if (t === undefined) bad(`attribute '${name}' of type TENSOR has no tensor`);
      return { name, type, value: t };
    case undefined:
      return bad(`attribute '${name}': unsupported attribute type ${typeCode}`);
  }
}

function node(buf: Uint8Array): NodeSpec {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: AttributeSpec[] = [];
  let name = '';
  let opType = '';
  let domain = '';
  for (const f of readFields(buf)) {
    if (f.field === F.node.input) inputs.push(asString(f));
    else if (f.field === F.node.output) outputs.push(asString(f));
    else if (f.field === F.node.name) name = asString(f);
    else if (f.field === F.node.opType) opType = asString(f);
    else if (f.field === F.node.attribute) attributes.push(attribute(asBytes(f)));
    else if (f.field === F.node.domain) domain = asString(f);
  }
  return { opType, inputs, outputs, name, domain, attributes };
}

function dims(shapeBuf: Uint8Array): Dim[] {
  const out: Dim[] = [];
  for (const d of readFields(shapeBuf)) {
    if (d.field !== F.shape.dim) continue;
    let dim: Dim = '';
    for (const f of readFields(asBytes(d))) {
      if (f.field === F.dim.value) dim = asInt(f);
      else if (f.field === F.dim.param) dim = asString(f);
    }
    out.push(dim);
  }
  return out;
}

function valueInfo(buf: Uint8Array): ValueInfoSpec {
  let name = '';
  let code = 0;
  let shape: Dim[] | undefined;
  for (const f of readFields(buf)) {
    if (f.field === F.valueInfo.name) name = asString(f);
    if (f.field !== F.valueInfo.type) continue;
    for (const tf of readFields(asBytes(f))) {
      if (tf.field !== F.type.tensorType) bad(`value '${name}': only tensor types are supported`);
      for (const x of readFields(asBytes(tf))) {
        if (x.field === F.typeTensor.elemType) code = asInt(x);
        else if (x.field === F.typeTensor.shape) shape = dims(asBytes(x));
      }
    }
  }
  return { name, elemType: elemType(code, `value '${name}'`), dims: shape };
}

function graph(buf: Uint8Array): GraphSpec {
  const g = {
    name: '',
    nodes: [] as NodeSpec[],
    initializers: [] as TensorSpec[],
    inputs: [] as ValueInfoSpec[],
    outputs: [] as ValueInfoSpec[],
    valueInfo: [] as ValueInfoSpec[],
  };
  for (const f of readFields(buf)) {
    if (f.field === F.graph.node) g.nodes.push(node(asBytes(f)));
    else if (f.field === F.graph.name) g.name = asString(f);
    else if (f.field === F.graph.initializer) g.initializers.push(tensor(asBytes(f)));
    else if (f.field === F.graph.input) g.inputs.push(valueInfo(asBytes(f)));
    else if (f.field === F.graph.output) g.outputs.push(valueInfo(asBytes(f)));
    else if (f.field === F.graph.valueInfo) g.valueInfo.push(valueInfo(asBytes(f)));
  }
  return g;
}

/** Parse model bytes. Unknown fields are skipped; unsupported data types and typed *_data fields throw. */
export function decodeModel(bytes: Uint8Array): ModelSpec {
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  let docString = '';
  let g: GraphSpec | undefined;
  const opsetImports: OpsetImport[] = [];
  const metadata: [string, string][] = [];
  for (const f of readFields(bytes)) {
    if (f.field === F.model.irVersion) irVersion = asInt(f);
    else if (f.field === F.model.producerName) producerName = asString(f);
    else if (f.field === F.model.producerVersion) producerVersion = asString(f);
    else if (f.field === F.model.docString) docString = asString(f);
    else if (f.field === F.model.graph) g = graph(asBytes(f));
    else if (f.field === F.model.opsetImport) {
      let domain = '';
      let version = 0;
      for (const x of readFields(asBytes(f))) {
        if (x.field === F.opset.domain) domain = asString(x);
        else if (x.field === F.opset.version) version = asInt(x);
      }
      opsetImports.push({ domain, version });
    } else if (f.field === F.model.metadataProps) {
      let key = '';
      let value = '';
      for (const x of readFields(asBytes(f))) {
        if (x.field === F.entry.key) key = asString(x);
        else if (x.field === F.entry.value) value = asString(x);
      }
      metadata.push([key, value]);
    }
  }
  if (g === undefined) bad('model has no graph (field 7)');
  return { irVersion, opsetImports, producerName, producerVersion, docString, metadata, graph: g };
}
