/**
 * A video file or stream → RGB frames through Debian's ffmpeg: ffprobe first (size, rate, rotation, duration;
 * refusing audio-only files, empty files and absurd sizes), then one ffmpeg process streaming raw rgb24 frames
 * over a pipe, one frame at a time (the whole clip is never in memory; the pipe's backpressure paces ffmpeg).
 * Any container and codec ffmpeg reads; rotation metadata is honoured (ffmpeg rotates, the size is swapped).
 * Decoding errors (truncated or corrupt input) throw after the frames decoded were yielded (rows are kept).
 */
import { ExpnetError } from '../errors.js';
import { ffmpegPath, ffprobeJson, lastReason, safeName, spawnTool, type FfmpegPaths } from './ffmpeg.js';
import type { RgbPixels } from './readImage.js';

export interface VideoInfo {
  /** Frame size after rotation (what the frames are). */
  width: number;
  height: number;
  /** Source frame rate (average), frames/s. */
  fps: number;
  /** Seconds; null for live streams and containers that do not say. */
  duration: number | null;
  /** Display rotation in degrees from the metadata (already applied to the frames). */
  rotation: number;
  codec: string;
}

export interface VideoSourceOptions extends FfmpegPaths {
  /** Frames sampled per second (default: every frame, at most 30/s). */
  fps?: number;
  /** Seconds into the clip to start at / to stop at. */
  start?: number;
  end?: number;
  /** Refuse frames with more pixels than this (default 8,294,400: 3840×2160). */
  maxPixels?: number;
  /** Refuse clips longer than this many seconds (default: no limit). */
  maxDuration?: number;
}

export interface VideoFrame {
  /** 0, 1, 2 … over the sampled frames. */
  index: number;
  /** Seconds from the start of the clip. */
  time: number;
  /** The source frame at that time (time × source rate, rounded). */
  frame: number;
  image: RgbPixels;
}

export const DEFAULT_VIDEO_MAX_PIXELS = 3840 * 2160;
/** Default sample-rate cap: every frame of a clip up to this rate. */
export const DEFAULT_MAX_FPS = 30;
/** Largest side ffmpeg is asked to produce (the encoders' limit). */
const MAX_SIDE = 16384;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};
function rate(v: unknown): number | null {
  const m = typeof v === 'string' ? /^(\d+)\/(\d+)$/.exec(v) : null;
  if (!m) return null;
  const r = Number(m[1]) / Number(m[2]);
  return Number.isFinite(r) && r > 0 ? r : null;
}

export const badVideo = (file: string, why: string, cause?: unknown): ExpnetError => new ExpnetError('BAD_VIDEO', `${file}: ${why}`, cause === undefined ? undefined : { cause });

/** What ffprobe says of the first video stream of `file`. */
export async function probeVideo(file: string, options: VideoSourceOptions = {}): Promise<VideoInfo> {
  const probed = await ffprobeJson(file, options);
  if (!probed.ok) throw badVideo(file, `not a readable video (${probed.reason})`);
  const streams = Array.isArray(obj(probed.json)['streams']) ? (obj(probed.json)['streams'] as unknown[]).map(obj) : [];
  const v = streams.find((s) => s['codec_type'] === 'video' && obj(s['disposition'])['attached_pic'] !== 1);
  if (!v) {
    const kinds = [...new Set(streams.map((s) => String(s['codec_type'])))];
    throw badVideo(file, `no video stream (${kinds.length > 0 ? `only ${kinds.join(', ')}` : 'no streams at all'}): expected a video`);
  }
  const side = Array.isArray(v['side_data_list']) ? (v['side_data_list'] as unknown[]).map(obj) : [];
  const rotation = num(side.find((d) => d['rotation'] !== undefined)?.['rotation']) ?? num(obj(v['tags'])['rotate']) ?? 0;
  const w = num(v['width']) ?? 0;
  const h = num(v['height']) ?? 0;
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const fmtDuration = num(obj(obj(probed.json)['format'])['duration']);
  const info: VideoInfo = {
    width: quarter ? h : w,
    height: quarter ? w : h,
    fps: rate(v['avg_frame_rate']) ?? rate(v['r_frame_rate']) ?? DEFAULT_MAX_FPS,
    duration: num(v['duration']) ?? fmtDuration,
    rotation,
    codec: String(v['codec_name'] ?? 'unknown'),
  };
  const maxPixels = options.maxPixels ?? DEFAULT_VIDEO_MAX_PIXELS;
  if (info.width < 1 || info.height < 1) throw badVideo(file, `the video stream has no frame size (${w}×${h})`);
  if (info.width * info.height > maxPixels || Math.max(info.width, info.height) > MAX_SIDE) {
    throw badVideo(file, `${info.width}×${info.height} frames are over the limit of ${maxPixels} pixels and ${MAX_SIDE} px a side (raise maxPixels to allow them)`);
  }
  if (info.duration !== null && options.maxDuration !== undefined && info.duration > options.maxDuration) {
    throw new ExpnetError('BAD_VIDEO', `${file}: ${info.duration.toFixed(1)} s is longer than the limit of ${options.maxDuration} s`);
  }
  return info;
}

/** The sample rate and time window a clip is read at (checked options). */
export function sampling(info: VideoInfo, options: VideoSourceOptions): { fps: number; start: number; end: number | null } {
  const { fps, start = 0, end } = options;
  if (fps !== undefined && !(fps > 0 && fps <= 1000)) throw new ExpnetError('BAD_CONFIG', `video fps must be in (0, 1000], got ${fps}`);
  if (!(start >= 0)) throw new ExpnetError('BAD_CONFIG', `video start must be ≥ 0 seconds, got ${start}`);
  if (end !== undefined && !(end > start)) throw new ExpnetError('BAD_CONFIG', `video end must be after start (${start} s), got ${end}`);
  return { fps: fps ?? Math.min(info.fps, DEFAULT_MAX_FPS), start, end: end ?? null };
}

/** How many frames a read will give (for progress; null when the duration is unknown). */
export function expectedFrames(info: VideoInfo, options: VideoSourceOptions): number | null {
  const s = sampling(info, options);
  const stop = Math.min(s.end ?? Infinity, info.duration ?? Infinity);
  return Number.isFinite(stop) ? Math.max(0, Math.round((stop - s.start) * s.fps)) : null;
}

/** ffmpeg's arguments for rgb24 frames of `file` at the sampling of `options`. */
export function decodeArgs(file: string, info: VideoInfo, options: VideoSourceOptions): string[] {
  const s = sampling(info, options);
  const args = ['-v', 'error', '-nostdin'];
  if (s.start > 0) args.push('-ss', String(s.start));
  if (s.end !== null) args.push('-t', String(s.end - s.start));
  args.push('-i', safeName(file), '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', `fps=${s.fps},scale=${info.width}:${info.height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  return args;
}

/**
 * The sampled frames of `file`, one at a time. Breaking out of the loop stops ffmpeg. A decoding error throws
 * (BAD_VIDEO, naming the file) after the frames before it; a clip with no frame at all throws too.
 */
export async function* videoFrames(file: string, options: VideoSourceOptions = {}, known?: VideoInfo): AsyncGenerator<VideoFrame, void, undefined> {
  const info = known ?? (await probeVideo(file, options));
  const s = sampling(info, options);
  const frameBytes = info.width * info.height * 3;
  const { proc, started, exit } = spawnTool(ffmpegPath(options), decodeArgs(file, info, options));
  await started;
  let index = 0;
  let buf = new Uint8Array(frameBytes);
  let filled = 0;
  let done = false;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - at);
        buf.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === frameBytes) {
          const time = s.start + index / s.fps;
          yield { index, time, frame: Math.round(time * info.fps), image: { data: buf, width: info.width, height: info.height } };
          index++;
          buf = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
    }
    done = true;
  } finally {
    if (!done) proc.kill('SIGKILL');
  }
  const { code, signal, stderr } = await exit;
  if (code !== 0) throw badVideo(file, `cannot decode after ${index} frame${index === 1 ? '' : 's'}: truncated or corrupt (ffmpeg ${code !== null ? `exit ${code}` : String(signal)}: ${lastReason(stderr)})`);
  if (filled > 0) throw badVideo(file, `truncated: the last frame has ${filled} of ${frameBytes} bytes`);
  if (index === 0) throw badVideo(file, stderr.trim() !== '' ? `no frame decoded (${lastReason(stderr)})` : `no frames${s.start > 0 ? ` after ${s.start} s` : ''}: an empty clip`);
  // ffmpeg conceals damaged frames and goes on (exit 0): at -v error, anything it said is a decoding error
  if (stderr.trim() !== '') {
    const expected = expectedFrames(info, options);
    const short = expected !== null && index < 0.9 * expected - 1;
    throw badVideo(file, `${short ? `truncated or corrupt: ${index} of ${expected} frames decoded` : `corrupt: decoded ${index} frames with errors`} (${lastReason(stderr)})`);
  }
}
