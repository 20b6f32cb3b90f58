/**
 * Spawning Debian's ffmpeg and ffprobe (package `ffmpeg`, installed by scripts/setup.sh): their paths, a clear
 * error when they are missing, and ffprobe's JSON answer. Nothing here reads a whole clip into memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ExpnetError } from '../errors.js';

/** Where to find the tools (default: `ffmpeg` and `ffprobe` on the PATH, or $EXPNET_FFMPEG / $EXPNET_FFPROBE). */
export interface FfmpegPaths {
  ffmpeg?: string;
  ffprobe?: string;
}

export const ffmpegPath = (p: FfmpegPaths = {}): string => p.ffmpeg ?? process.env['EXPNET_FFMPEG'] ?? 'ffmpeg';
export const ffprobePath = (p: FfmpegPaths = {}): string => p.ffprobe ?? process.env['EXPNET_FFPROBE'] ?? (p.ffmpeg !== undefined ? p.ffmpeg.replace(/ffmpeg(?=[^/\\]*$)/, 'ffprobe') : 'ffprobe');

/** The error of a tool that could not be started (ENOENT: not installed). */
export function missingTool(tool: string, err: unknown): ExpnetError {
  const code = (err as { code?: unknown }).code;
  const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : (err as Error).message;
  return new ExpnetError('MISSING_TOOL', `video needs ${tool} (${why}): install Debian's ffmpeg package (apt-get install ffmpeg, or scripts/setup.sh), or name it with EXPNET_FFMPEG / EXPNET_FFPROBE`, { cause: err });
}

/** Spawns `cmd`; a failure to start rejects `started` with missingTool. */
export function spawnTool(cmd: string, args: readonly string[], stdin: 'ignore' | 'pipe' = 'ignore'): { proc: ChildProcess; started: Promise<void>; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  // own process group: a Ctrl-C at the terminal reaches expnet only, which stops the tools in order
  const proc = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => {
    // keep the last 8 KiB: the end says why it stopped
    stderr = (stderr + s.replace(/^\s*Last message repeated.*\n?/gm, '')).slice(-8192);
  });
  let failed: unknown = null;
  const started = new Promise<void>((resolve, reject) => {
    proc.once('spawn', () => resolve());
    proc.once('error', (err) => {
      failed = err;
      reject(missingTool(cmd, err));
    });
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    proc.once('close', (code, signal) => resolve({ code: failed !== null ? -1 : code, signal, stderr }));
  });
  return { proc, started, exit };
}

/** The last meaningful line of a tool's stderr (its reason), without ffmpeg's `[demuxer @ 0x…]` prefix. */
export function lastReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim()).filter((l) => l.length > 0);
  return lines.slice(-2).join('; ') || 'no message';
}

/** A path ffmpeg will not take for an option (a leading '-' gets './'). */
export const safeName = (file: string): string => (file.startsWith('-') ? `./${file}` : file);

/** ffprobe's JSON for `file` (streams and format), or the reason it could not read it. */
export async function ffprobeJson(file: string, paths: FfmpegPaths = {}): Promise<{ ok: true; json: unknown } | { ok: false; reason: string }> {
  const { proc, started, exit } = spawnTool(ffprobePath(paths), ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', '-i', safeName(file)]);
  let out = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (s: string) => (out += s));
  await started;
  const { code, stderr } = await exit;
  if (code !== 0) return { ok: false, reason: lastReason(stderr) };
  try {
    return { ok: true, json: JSON.parse(out) as unknown };
  } catch (err) {
    return { ok: false, reason: `ffprobe gave no JSON (${(err as Error).message})` };
  }
}
