/**
 * A minimal protobuf (proto2 wire format) writer.
 *
 * Hand-written rather than protobufjs: the ONNX subset we emit needs only five primitives (varint, fixed32,
 * length-delimited bytes/strings/sub-messages), the code stays dependency-free and usable in the browser,
 * int64 needs no `Long`, and large tensor payloads are referenced, not copied, until the final `finish()`.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();
const CHUNK = 4096;

export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private buf = new Uint8Array(CHUNK);
  private pos = 0;
  private flushed = 0;

  /** Total number of bytes written so far. */
  get length(): number {
    return this.flushed + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushSmall();
    if (n > this.buf.length) this.buf = new Uint8Array(n);
  }

  private flushSmall(): void {
    if (this.pos === 0) return;
    this.parts.push(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.buf = new Uint8Array(CHUNK);
    this.pos = 0;
  }

  /** Unsigned varint of a non-negative safe integer, or any int64 given as bigint (negatives: 10 bytes). */
  private varint(value: number | bigint): void {
    this.ensure(10);
    if (typeof value === 'number' && value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.pos++] = v;
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** int32 / int64 / enum field (negatives are sign-extended to 64 bits, as protobuf requires). */
  int(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`protobuf field ${field}: expected a safe integer, got ${value}`);
    }
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** `repeated int64` written unpacked (one tag per element), as proto2 declares ONNX's dims/ints. */
  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, value, true);
    this.pos += 4;
    return this;
  }

  /** `repeated float` written unpacked, as proto2 declares AttributeProto.floats. */
  floats(field: number, values: readonly number[]): this {
    for (const v of values) this.float(field, v);
    return this;
  }

  /** Length-delimited bytes; large payloads are referenced (caller must not mutate them before finish()). */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    if (data.length <= 256) {
      this.ensure(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    } else {
      this.flushSmall();
      this.parts.push(data);
      this.flushed += data.length;
    }
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Embedded message: the sub-writer's chunks are appended without copying. */
  message(field: number, sub: ProtoWriter): this {
    sub.flushSmall();
    this.tag(field, WIRE_LEN);
    this.varint(sub.length);
    this.flushSmall();
    for (const p of sub.parts) this.parts.push(p);
    this.flushed += sub.flushed;
    return this;
  }

  /** Concatenate everything into one buffer. */
  finish(): Uint8Array {
    this.flushSmall();
    const out = new Uint8Array(this.flushed);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}
