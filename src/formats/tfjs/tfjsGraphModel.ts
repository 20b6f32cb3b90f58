/**
 * A tfjs graph model (`model.json` with `format: 'graph-model'`) read without tfjs: its nodes (op, inputs,
 * attributes) and its weights (the `weightsManifest` inside model.json, shards beside it). The nets that
 * import one check the nodes they rely on (op, strides, padding, activation constants) against their own
 * architecture, so a different graph is rejected rather than silently mis-read.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpnetError, fsReason } from '../../errors.js';
import type { TfjsWeightMap } from './tfjsDecodeWeights.js';
import { parseTfjsManifest, readTfjsShards } from './tfjsManifest.js';

/** One node of the graph: attribute values kept as the converter wrote them (JSON of TF's AttrValue). */
export interface TfjsGraphNode {
  name: string;
  op: string;
  inputs: string[];
  attr: Record<string, unknown>;
}

export interface TfjsGraphModel {
  /** The model.json path (names it in errors). */
  source: string;
  nodes: Map<string, TfjsGraphNode>;
  weights: TfjsWeightMap;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `model.json` and its weight shards. Throws ExpnetError 'BAD_MODEL' / 'BAD_WEIGHTS' naming the file. */
export async function readTfjsGraphModel(file: string): Promise<TfjsGraphModel> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    const why = cause instanceof SyntaxError ? `expected JSON, ${cause.message}` : fsReason(cause);
    throw new ExpnetError('BAD_MODEL', `${file}: cannot read the tfjs graph model (${why})`, { cause });
  }
  if (!isRecord(json) || json.format !== 'graph-model' || !isRecord(json.modelTopology) || !Array.isArray(json.modelTopology.node)) {
    throw new ExpnetError('BAD_MODEL', `${file}: expected a tfjs graph model (format 'graph-model' with modelTopology.node[])`);
  }
  const nodes = new Map<string, TfjsGraphNode>();
  for (const [i, n] of json.modelTopology.node.entries()) {
    if (!isRecord(n) || typeof n.name !== 'string' || typeof n.op !== 'string') {
      throw new ExpnetError('BAD_MODEL', `${file}: node ${i}: expected { name, op }`);
    }
    const inputs = Array.isArray(n.input) ? n.input.filter((s): s is string => typeof s === 'string') : [];
    nodes.set(n.name, { name: n.name, op: n.op, inputs, attr: isRecord(n.attr) ? n.attr : {} });
  }
  const groups = parseTfjsManifest(json.weightsManifest, file);
  return { source: file, nodes, weights: await readTfjsShards(groups, path.dirname(file), file) };
}

/** The node `name`, checked to be `op` and to read `inputs` (when given); loud otherwise. */
export function graphNode(model: TfjsGraphModel, name: string, op: string, inputs?: readonly string[]): TfjsGraphNode {
  const n = model.nodes.get(name);
  if (!n) throw new ExpnetError('BAD_MODEL', `${model.source}: node '${name}' (${op}) is missing`);
  if (n.op !== op) throw new ExpnetError('BAD_MODEL', `${model.source}: node '${name}' is ${n.op}, expected ${op}`);
  if (inputs && n.inputs.join(',') !== inputs.join(',')) {
    throw new ExpnetError('BAD_MODEL', `${model.source}: node '${name}' reads [${n.inputs.join(', ')}], expected [${inputs.join(', ')}]`);
  }
  return n;
}

/** An int-list attribute (`strides`, `dilations`, `squeeze_dims`) as numbers. */
export function attrInts(node: TfjsGraphNode, key: string): number[] {
  const list = node.attr[key];
  const ints = isRecord(list) && isRecord(list.list) ? list.list.i : undefined;
  return Array.isArray(ints) ? ints.map((v) => Number(v)) : [];
}

/** A string attribute (`padding`, `data_format`), base64-decoded. */
export function attrString(node: TfjsGraphNode, key: string): string {
  const v = node.attr[key];
  return isRecord(v) && typeof v.s === 'string' ? Buffer.from(v.s, 'base64').toString('utf8') : '';
}

/** A string-list attribute (`fused_ops`), base64-decoded. */
export function attrStrings(node: TfjsGraphNode, key: string): string[] {
  const v = node.attr[key];
  const s = isRecord(v) && isRecord(v.list) ? v.list.s : undefined;
  return Array.isArray(s) ? s.filter((x): x is string => typeof x === 'string').map((x) => Buffer.from(x, 'base64').toString('utf8')) : [];
}

/**
 * Checks a convolution node: NHWC, unit dilations, stride `stride` in both spatial dims, padding `padding`,
 * and (for fused ops) exactly `fused` as its fused ops. Returns the node.
 */
export function checkConvNode(
  model: TfjsGraphModel,
  name: string,
  op: string,
  inputs: readonly string[],
  want: { stride: number; padding: 'SAME' | 'VALID'; fused?: readonly string[] },
): TfjsGraphNode {
  const n = graphNode(model, name, op, inputs);
  const strides = attrInts(n, 'strides').join(',');
  const dil = attrInts(n, 'dilations');
  const got = { strides, padding: attrString(n, 'padding'), format: attrString(n, 'data_format') || 'NHWC', fused: attrStrings(n, 'fused_ops').join(',') };
  const ok =
    strides === `1,${want.stride},${want.stride},1` &&
    got.padding === want.padding &&
    got.format === 'NHWC' &&
    dil.every((d) => d === 1) &&
    got.fused === (want.fused ?? []).join(',');
  if (!ok) {
    throw new ExpnetError(
      'BAD_MODEL',
      `${model.source}: node '${name}' has strides [${strides}] padding ${got.padding} format ${got.format} dilations [${dil.join(',')}] fused [${got.fused}]; ` +
        `expected strides [1,${want.stride},${want.stride},1] padding ${want.padding} NHWC fused [${(want.fused ?? []).join(',')}]`,
    );
  }
  return n;
}
