/**
 * The image formats expnet decodes, checked from the header (sharp's metadata) before any pixel is decoded:
 * training data (src/data/decode.ts), the Recognizer, the CLI and the server refuse the others unless the caller
 * allows any format.
 */
import type { Metadata } from 'sharp';

/**
 * The documented image formats, the only ones decoded by default. Others that sharp could open (SVG, PDF, HEIC,
 * JPEG 2000, FITS, …) are refused unless the caller allows any format: an SVG given as a file renders the local
 * files it references.
 */
export const IMAGE_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif']);

export interface ReadImageOptions {
  /** Decode whatever sharp can open, not only IMAGE_FORMATS (trusted inputs only; default false). */
  anyFormat?: boolean;
}

/** sharp's format name, with AVIF told apart from other HEIF files. */
export function formatOf(meta: Pick<Metadata, 'format' | 'compression'>): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heic';
  return String(meta.format ?? 'unknown');
}

/** Null when the format is documented (or any is allowed), else the reason to refuse it, naming the input. */
export function formatProblem(meta: Pick<Metadata, 'format' | 'compression'>, name: string, options: ReadImageOptions = {}): string | null {
  const format = formatOf(meta);
  if (options.anyFormat === true || IMAGE_FORMATS.includes(format)) return null;
  return `${name}: ${format.toUpperCase()} is not a supported image format (expected ${IMAGE_FORMATS.map((f) => f.toUpperCase()).join(', ')})`;
}
