/**
 * IEEE 754 half precision (binary16) → float32, exactly as tfjs's `getFloat16Decoder` does it:
 * subnormals, ±0, ±Infinity and NaN included. `bits` are the raw little-endian uint16 words.
 */
export function tfjsFloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i] ?? 0;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      out[i] = sign * mantissa * 2 ** -24; // zero or subnormal: m · 2^-14 · 2^-10
    } else if (exponent === 0x1f) {
      out[i] = mantissa === 0 ? sign * Infinity : NaN;
    } else {
      out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
    }
  }
  return out;
}
