/**
 * Tiny test clips made with ffmpeg from the bundled astronaut photo (public domain), in a temp folder: a moving
 * face, faces appearing, disappearing and missing for two frames, a rotated clip (its face is sideways: flickering labels), and bad inputs
 * (truncated, corrupt, audio-only, zero-length). Each is a few seconds at 10 frames/s and ≤ 480×240.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/engine/native.js';

export const ASTRONAUT = join(packageRoot(), 'examples', 'astronaut.png');

export const hasFfmpeg = (): boolean => spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

const H264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'];

export interface Clips {
  dir: string;
  /** 3 s, 320×240: one face moving right 30 px/s. */
  moving: string;
  /**
   * 3 s, 480×240: face A at the left all along except frames 5–6 (t 0.5–0.6 s, a short miss); face B on the right
   * for t in [1, 2); face C at the bottom right for t ≥ 2.4 (a new person after B left).
   */
  appearing: string;
  /** moving with rotation metadata 90°: frames are 240×320, the face sideways (its labels flicker). */
  rotated: string;
  /** moving cut at 60 % of its bytes; moving with 3,000 bytes scrambled in the middle. */
  truncated: string;
  corrupt: string;
  /** an MP4 with only an AAC track; a 0-byte file. */
  audioOnly: string;
  empty: string;
}

export function makeClips(): Clips {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-video-'));
  const at = (n: string): string => join(dir, n);
  const face = (s: number): string => `scale=${s}:${s}`;
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=320x240:d=3:r=10', '-i', ASTRONAUT, '-filter_complex', `[1]${face(160)}[f];[0][f]overlay=x='20+30*t':y=40`, ...H264, at('moving.mp4')]);
  ffmpeg([
    '-f', 'lavfi', '-i', 'color=c=gray:s=480x240:d=3:r=10', '-i', ASTRONAUT, '-filter_complex',
    `[1]${face(140)},split=3[a][b][c];[0][a]overlay=x=0:y=10:enable='not(between(t,0.45,0.65))'[s1];[s1][b]overlay=x=330:y=10:enable='between(t,0.95,1.95)'[s2];[s2][c]overlay=x=330:y=100:enable='gte(t,2.35)'`,
    ...H264, at('appearing.mp4'),
  ]);
  ffmpeg(['-i', at('moving.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', at('rotated.mp4')]);
  const bytes = readFileSync(at('moving.mp4'));
  writeFileSync(at('truncated.mp4'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const bad = Buffer.from(bytes);
  for (let i = bad.length >> 1, k = 0; k < 3000 && i < bad.length; i++, k++) bad[i] = (i * 7) & 255;
  writeFileSync(at('corrupt.mp4'), bad);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', at('audio-only.mp4')]);
  writeFileSync(at('empty.mp4'), '');
  if (statSync(at('appearing.mp4')).size === 0) throw new Error('ffmpeg wrote an empty clip');
  return { dir, moving: at('moving.mp4'), appearing: at('appearing.mp4'), rotated: at('rotated.mp4'), truncated: at('truncated.mp4'), corrupt: at('corrupt.mp4'), audioOnly: at('audio-only.mp4'), empty: at('empty.mp4') };
}
