/**
 * `expnet predict` on videos (issue 28): CSV and JSON Lines rows per face per frame, the track summary, a folder
 * mixing a photo and a video, --annotate out.mp4, a truncated clip (rows kept, the file named, exit 4) and Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ASTRONAUT, hasFfmpeg, makeClips, type Clips } from './helpers/videoClips.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const env = { ...process.env, EXPNET_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [...process.execArgv, main, 'predict', ...args], { encoding: 'utf8', env, timeout: 180_000 });

describe('expnet predict on videos', { skip: hasFfmpeg() ? false : 'ffmpeg is not installed' }, () => {
  let clips: Clips;
  before(() => {
    clips = makeClips();
  });
  after(() => {
    if (clips) rmSync(clips.dir, { recursive: true, force: true });
  });

  test('CSV: a row per frame with time, frame and track; the summary on stderr', () => {
    const r = cli([clips.moving, '--csv', '--fps', '5']);
    assert.equal(r.status, 0, r.stderr);
    const [head, ...rows] = r.stdout.trim().split('\n');
    assert.match(head ?? '', /^file,time,frame,track,x,y,width,height,score,label,confidence,/);
    assert.equal(rows.length, 15);
    assert.deepEqual(rows.map((l) => l.split(',').slice(1, 4).join(',')).slice(0, 3), ['0.000,0,1', '0.200,2,1', '0.400,4,1']);
    assert.match(r.stderr, /15 frames, 1 track/);
    assert.match(r.stderr, /track\s+1\s+0\.00–2\.80 s\s+3\.00 s\s+15 frames\s+happy/);
  });

  test('--detect-every 5: the same rows, one track; a bad value is a usage error', () => {
    const r = cli([clips.moving, '--csv', '--detect-every', '5']);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').slice(1);
    assert.equal(rows.length, 30);
    assert.ok(rows.every((l) => l.split(',')[3] === '1'), 'track 1 throughout');
    assert.equal(cli([clips.moving, '--detect-every', '0']).status, 2);
  });

  test('JSON Lines with --every-face: 44 face rows and 3 track lines; the largest face only by default', () => {
    const r = cli([clips.appearing, '--json', '--every-face']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; track: number; frames?: number; expressions?: Record<string, number> });
    assert.equal(lines.filter((l) => l.type === 'face').length, 28 + 10 + 6);
    assert.deepEqual(lines.filter((l) => l.type === 'track').map((l) => [l.track, l.frames]), [[1, 28], [2, 10], [3, 6]]);
    const one = cli([clips.appearing, '--json']);
    assert.equal(one.stdout.trim().split('\n').filter((l) => l.includes('"type":"face"')).length, 28);
  });

  test('a folder with a photo and a video: both in one table, the photo unsmoothed', () => {
    const dir = join(clips.dir, 'mixed');
    mkdirSync(dir, { recursive: true });
    copyFileSync(ASTRONAUT, join(dir, 'a.png'));
    copyFileSync(clips.moving, join(dir, 'b.mp4'));
    const r = cli([dir, '--fps', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /a\.png\s+0\.00s\s+0\s+1\s+\d+,\d+ \d+×\d+\s+happy/);
    assert.equal(r.stdout.split('\n').filter((l) => /b\.mp4\s+\d\.\d\ds/.test(l)).length, 6);
    assert.match(r.stdout, /b\.mp4: 6 frames, 1 track/);
  });

  test('--annotate out.mp4 writes the annotated video, same size and frame count', () => {
    const out = join(clips.dir, 'annotated', 'out.mp4');
    const r = cli([clips.moving, '--fps', '5', '--annotate', out, '--csv']);
    assert.equal(r.status, 0, r.stderr);
    const p = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'csv=p=0', out], { encoding: 'utf8' });
    assert.equal(p.stdout.trim(), '320,240,15');
  });

  test('a truncated clip: its rows are kept, then an error naming the file; exit 4', () => {
    const r = cli([clips.truncated, clips.audioOnly, '--csv']);
    assert.equal(r.status, 4);
    const rows = r.stdout.trim().split('\n').slice(1);
    const good = rows.filter((l) => l.endsWith(','));
    assert.ok(good.length >= 10, `${good.length} rows kept`);
    assert.match(r.stderr, new RegExp(`${clips.truncated.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: truncated or corrupt`));
    assert.match(r.stderr, /audio-only\.mp4: no video stream \(only audio\)/);
    assert.ok(rows.some((l) => l.startsWith(clips.audioOnly) && /no video stream/.test(l)), 'an error row');
  });

  test('Ctrl-C: the rows written are kept, the summary printed, exit 130', async () => {
    const child = spawn(process.execPath, [...process.execArgv, main, 'predict', clips.appearing, '--json'], { env });
    let stdout = '';
    let sent = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      stdout += s;
      if (!sent && stdout.split('\n').length > 3) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    const faces = lines.filter((l) => l.type === 'face').length;
    assert.ok(faces >= 3 && faces < 28, `${faces} rows before the stop`);
    assert.equal(lines.at(-1)?.type, 'track');
  });
});
