/** A minimal protobuf wire-format reader: enough to read back what ProtoWriter writes (and what protoc writes). */

import { ExpnetError } from '../../errors.js';

export type ProtoField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 1; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: 2; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: 5; readonly value: Uint8Array };

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function fail(what: string, pos: number): never {
  throw new ExpnetError('BAD_MODEL', `protobuf: ${what} at byte ${pos}`);
}

function readVarint(buf: Uint8Array, start: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let pos = start;
  for (;;) {
    if (pos >= buf.length) fail('truncated varint', start);
    const b = buf[pos++] ?? 0;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 63n) fail('varint longer than 10 bytes', start);
  }
}

/** Split one message into its fields, in order. Group wire types (3, 4) are rejected. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    pos = afterKey;
    if (wire === 0) {
      const [value, next] = readVarint(buf, pos);
      out.push({ field, wire, value });
      pos = next;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > buf.length) fail(`truncated fixed${n * 8} in field ${field}`, pos);
      out.push({ field, wire, value: buf.subarray(pos, pos + n) });
      pos += n;
    } else if (wire === 2) {
      const [len, next] = readVarint(buf, pos);
      const end = next + Number(len);
      if (end > buf.length) fail(`length ${len} of field ${field} runs past the end (${buf.length})`, pos);
      out.push({ field, wire, value: buf.subarray(next, end) });
      pos = end;
    } else {
      fail(`unsupported wire type ${wire} in field ${field}`, pos);
    }
  }
  return out;
}

/** Signed int64 of a varint field. */
export function asInt(f: ProtoField): number {
  if (f.wire !== 0) fail(`field ${f.field}: expected a varint, got wire type ${f.wire}`, 0);
  return Number(BigInt.asIntN(64, f.value));
}

/** Values of a `repeated int64` field that may be written packed or unpacked. */
export function asInts(f: ProtoField): number[] {
  if (f.wire === 0) return [asInt(f)];
  if (f.wire !== 2) fail(`field ${f.field}: expected varints, got wire type ${f.wire}`, 0);
  const out: number[] = [];
  let pos = 0;
  while (pos < f.value.length) {
    const [v, next] = readVarint(f.value, pos);
    out.push(Number(BigInt.asIntN(64, v)));
    pos = next;
  }
  return out;
}

/** Values of a `repeated float` field that may be written packed or unpacked. */
export function asFloats(f: ProtoField): number[] {
  if (f.wire === 1) fail(`field ${f.field}: expected float, got a 64-bit value`, 0);
  if (f.wire === 0) fail(`field ${f.field}: expected float, got a varint`, 0);
  const dv = new DataView(f.value.buffer, f.value.byteOffset, f.value.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= f.value.byteLength; i += 4) out.push(dv.getFloat32(i, true));
  return out;
}

export function asBytes(f: ProtoField): Uint8Array {
  if (f.wire !== 2) fail(`field ${f.field}: expected length-delimited data, got wire type ${f.wire}`, 0);
  return f.value;
}

export function asString(f: ProtoField): string {
  return textDecoder.decode(asBytes(f));
}
