/** Plain-data description of the ONNX ModelProto subset expnet writes (field numbers: see encodeModel.ts). */

/** TensorProto.DataType codes we use (onnx.proto). */
export const DataType = { FLOAT: 1, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

export type ElemType = 'float32' | 'float16' | 'int8' | 'int32' | 'int64';

export const ELEM_TYPE_CODE: Readonly<Record<ElemType, number>> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  int8: DataType.INT8,
  int32: DataType.INT32,
  int64: DataType.INT64,
};

/** Bytes per element in raw_data. */
export const ELEM_BYTES: Readonly<Record<ElemType, number>> = { float32: 4, float16: 2, int8: 1, int32: 4, int64: 8 };

export function elemTypeOfCode(code: number): ElemType | undefined {
  for (const [k, v] of Object.entries(ELEM_TYPE_CODE)) if (v === code) return k as ElemType;
  return undefined;
}

/** A dimension: a fixed size or a symbolic name such as 'batch' (TensorShapeProto.Dimension dim_param). */
export type Dim = number | string;

/** A constant tensor; `rawData` is little-endian, row-major, ELEM_BYTES[elemType] bytes per element. */
export interface TensorSpec {
  readonly name: string;
  readonly elemType: ElemType;
  readonly dims: readonly number[];
  readonly rawData: Uint8Array;
}

export interface ValueInfoSpec {
  readonly name: string;
  readonly elemType: ElemType;
  /** undefined: shape unknown (no TensorShapeProto written). */
  readonly dims: readonly Dim[] | undefined;
}

export type AttributeSpec =
  | { readonly name: string; readonly type: 'float'; readonly value: number }
  | { readonly name: string; readonly type: 'int'; readonly value: number }
  | { readonly name: string; readonly type: 'string'; readonly value: string }
  | { readonly name: string; readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly name: string; readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly name: string; readonly type: 'tensor'; readonly value: TensorSpec };

export type AttributeType = AttributeSpec['type'];

/** AttributeProto.AttributeType codes (onnx.proto). */
export const ATTRIBUTE_TYPE_CODE: Readonly<Record<AttributeType, number>> = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  floats: 6,
  ints: 7,
};

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  /** Operator-set domain; '' is the default ONNX domain. */
  readonly domain: string;
  readonly attributes: readonly AttributeSpec[];
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfoSpec[];
  readonly outputs: readonly ValueInfoSpec[];
  readonly valueInfo: readonly ValueInfoSpec[];
}

export interface OpsetImport {
  readonly domain: string;
  readonly version: number;
}

export interface ModelSpec {
  readonly irVersion: number;
  readonly opsetImports: readonly OpsetImport[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  /** metadata_props, in order (keys distinct). */
  readonly metadata: readonly (readonly [string, string])[];
  readonly graph: GraphSpec;
}
