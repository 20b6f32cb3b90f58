/**
 * Writes RGB frames as a video through ffmpeg (H.264 in MP4/MKV/MOV, VP9 in WebM): frames go over a pipe one at
 * a time, with the pipe's backpressure; close() finishes the file (ffmpeg writes the index), so a stopped run
 * still leaves a playable video of the frames written.
 */
import { extname } from 'node:path';
import type { Writable } from 'node:stream';
import { ExpnetError } from '../errors.js';
import { ffmpegPath, lastReason, safeName, spawnTool, type FfmpegPaths } from './ffmpeg.js';
import type { RgbPixels } from './readImage.js';

export class VideoWriter {
  private closed = false;
  private failure: Error | null = null;

  private constructor(
    readonly file: string,
    readonly width: number,
    readonly height: number,
    private readonly stdin: Writable,
    private readonly exit: Promise<{ code: number | null; stderr: string }>,
  ) {
    stdin.on('error', (err) => (this.failure ??= err));
  }

  /** Starts ffmpeg writing `file` at `fps` frames/s of width×height RGB frames (odd sizes are padded to even). */
  static async open(file: string, width: number, height: number, fps: number, paths: FfmpegPaths = {}): Promise<VideoWriter> {
    const webm = extname(file).toLowerCase() === '.webm';
    const codec = webm ? ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '34', '-deadline', 'realtime'] : ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-movflags', '+faststart'];
    const args = ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0', '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', ...codec, '-pix_fmt', 'yuv420p', safeName(file)];
    const { proc, started, exit } = spawnTool(ffmpegPath(paths), args, 'pipe');
    await started;
    if (!proc.stdin) throw new ExpnetError('MISSING_TOOL', `${file}: ffmpeg gave no input pipe`);
    return new VideoWriter(file, width, height, proc.stdin, exit);
  }

  /** Appends one frame (its size must be the writer's). */
  async write(img: RgbPixels): Promise<void> {
    if (img.width !== this.width || img.height !== this.height) throw new ExpnetError('BAD_INPUT', `${this.file}: frames are ${this.width}×${this.height}, got ${img.width}×${img.height}`);
    if (this.failure) throw this.fail(this.failure);
    const ok = this.stdin.write(img.data);
    if (!ok) await new Promise<void>((resolve) => this.stdin.once('drain', resolve).once('error', () => resolve()));
    if (this.failure) throw this.fail(this.failure);
  }

  /** Finishes the file; throws when ffmpeg could not write it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.end();
    const { code, stderr } = await this.exit;
    if (code !== 0) throw new ExpnetError('BAD_VIDEO', `${this.file}: ffmpeg could not write the video (exit ${code}: ${lastReason(stderr)})`);
  }

  private fail(err: Error): ExpnetError {
    return new ExpnetError('BAD_VIDEO', `${this.file}: ffmpeg stopped taking frames (${err.message})`, { cause: err });
  }
}
