import { ExpnetError } from '../errors.js';

/**
 * Parses space-separated 8-bit pixel values (FER2013/TFD CSV `pixels` field) into a square gray image.
 * @param where file:line for the error message.
 * @throws ExpnetError('BAD_LABEL_FILE') when a value is not an integer 0..255 or the count is not a square.
 */
export function parsePixels(text: string, where: string): { width: number; height: number; data: Uint8Array } {
  const out: number[] = [];
  let value = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (c >= 48 && c <= 57) {
      value = (value < 0 ? 0 : value * 10) + (c - 48);
      if (value > 255) throw new ExpnetError('BAD_LABEL_FILE', `${where}: pixel ${out.length} exceeds 255`);
    } else if (c === 32 || c === 9) {
      if (value >= 0) out.push(value);
      value = -1;
    } else {
      throw new ExpnetError(
        'BAD_LABEL_FILE',
        `${where}: pixels must be space-separated integers 0..255, found ${JSON.stringify(text[i])} at character ${i}`,
      );
    }
  }
  const side = Math.round(Math.sqrt(out.length));
  if (out.length === 0 || side * side !== out.length) {
    throw new ExpnetError('BAD_LABEL_FILE', `${where}: expected a square image's pixels (e.g. 2304 = 48×48), found ${out.length} values`);
  }
  return { width: side, height: side, data: Uint8Array.from(out) };
}
