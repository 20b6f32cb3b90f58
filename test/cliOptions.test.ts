/** The shared option schema of the CLI, predict's outputs (table, CSV, JSON, annotated names) and usage errors (exit 2). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DETECTOR_OPTIONS, editDistance, parseOptions, suggest, unknownCommand } from '../src/cli/options.js';
import { annotatedPaths, csvHeader, csvRows, errorText, jsonDocument, roundNumbers, tableHeader, tableRows, type Outcome } from '../src/cli/predictOutput.js';
import { ExpnetError } from '../src/errors.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [...process.execArgv, main, ...args], { encoding: 'utf8', env: { ...process.env, EXPNET_PORT: '' } });

describe('option schema', () => {
  const usage = (argv: string[], re: RegExp): void => {
    assert.throws(() => parseOptions(argv, DETECTOR_OPTIONS, { positionals: true, env: {} }), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_CONFIG' && re.test(e.message));
  };
  const cases: [string[], RegExp][] = [
    [['--min-score', 'abc'], /--min-score: expected a number in \[0, 1\], got 'abc'/],
    [['--min-score', '5'], /--min-score: expected a number in \[0, 1\], got '5'/],
    [['--min-score', ''], /got ''/],
    [['--detector-size', '500'], /--detector-size: expected a multiple of 32 in \[32, 2048\], got '500'/],
    [['--detector-precision', 'int4'], /--detector-precision: expected one of int8, float32, got 'int4'/],
    [['--min-scor', '0.5'], /unknown option --min-scor \(did you mean --min-score\?\)/],
    [['--detector-sise', '512'], /did you mean --detector-size\?/],
    [['--zzz'], /^unknown option --zzz$/],
    [['-j', '4'], /^unknown option -j$/],
    [['-x'], /^unknown option -x$/],
    [['--min-score'], /--min-score/],
  ];
  for (const [argv, re] of cases) test(`${argv.join(' ')} → usage error`, () => usage(argv, re));

  test('typed values, positionals, environment fallbacks named in errors', () => {
    const r = parseOptions(['a.png', '--min-score', '0.25', '--detector-size=512', '--detector-precision', 'int8', 'b'], DETECTOR_OPTIONS, { positionals: true, env: {} });
    assert.deepEqual(r.values, { 'min-score': 0.25, 'detector-size': 512, 'detector-precision': 'int8' });
    assert.deepEqual(r.positionals, ['a.png', 'b']);
    const schema = { port: { kind: 'number', integer: true, min: 0, env: ['EXPNET_PORT', 'PORT'] }, log: { kind: 'flag', env: ['EXPNET_LOG'] } } as const;
    assert.deepEqual(parseOptions([], schema, { env: { PORT: '81', EXPNET_LOG: '1' } }).values, { port: 81, log: true });
    assert.deepEqual(parseOptions(['--port', '82'], schema, { env: { PORT: 'x' } }).values, { port: 82 });
    assert.throws(() => parseOptions([], schema, { env: { PORT: '8.5' } }), /--port \/ PORT: expected an integer ≥ 0, got '8.5'/);
  });

  test('suggestions: edit distance with swaps, prefixes, nothing far off', () => {
    assert.equal(editDistance('mni-score', 'min-score'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(suggest('anotate', ['annotate', 'json']), 'annotate');
    assert.equal(suggest('detector', ['detector-size', 'detector-precision']), 'detector-size');
    assert.equal(suggest('xyz', ['json', 'csv']), null);
  });

  test('a mistyped command gets the closest command, a far one none', () => {
    const commands = ['predict', 'export', 'eval', 'explain', 'serve', 'train'];
    assert.equal(unknownCommand('predcit', commands).message, "unknown command 'predcit' (did you mean 'predict'?)");
    assert.equal(unknownCommand('serv', commands).message, "unknown command 'serv' (did you mean 'serve'?)");
    assert.equal(unknownCommand('zzzzzz', commands).message, "unknown command 'zzzzzz'");
  });
});

const face = (x: number, label: 'happy' | 'sadness', p: number) => ({
  box: { x, y: 10.123456, width: 50.5, height: 60.25 },
  score: 0.987654321,
  landmarks: Array.from({ length: 68 }, (_, i) => ({ x: x + i / 3, y: 10 + i / 7 })),
  expressions: { happy: p, sadness: 1 - p },
  label,
  confidence: Math.max(p, 1 - p),
});
const labels = ['happy', 'sadness'];
const outcomes: Outcome[] = [
  { file: 'a/one.png', result: { input: 'a/one.png', width: 200, height: 100, faces: [face(1, 'happy', 0.91234567), face(100, 'sadness', 0.2)] } },
  { file: 'b/empty.jpg', result: { input: 'b/empty.jpg', width: 20, height: 20, faces: [] } },
  { file: 'bad, "quoted".jpg', error: 'not a readable image (unsupported format)' },
];

describe('predict output', () => {
  test('CSV: a row per face, a face-0 row for no face, the error for a failed input', () => {
    const rows = csvHeader(labels) + outcomes.map((o) => csvRows(labels, o, null)).join('');
    const lines = rows.trim().split('\n');
    assert.equal(lines.length, 5);
    const cols = (lines[0] ?? '').split(',').length;
    assert.equal(cols, 12);
    assert.equal(lines[1], 'a/one.png,1,1.0,10.1,50.5,60.3,0.9877,happy,0.9123,0.9123,0.0877,');
    assert.equal(lines[3], 'b/empty.jpg,0,,,,,,,,,,');
    assert.equal(lines[4], '"bad, ""quoted"".jpg",0,,,,,,,,,,not a readable image (unsupported format)');
    for (const l of lines.slice(1, 4)) assert.equal(l.split(',').length, cols, l);
    assert.match(csvRows(labels, outcomes[0] as Outcome, 2), /^a\/one\.png,1,1\.00,10\.12,50\.50,60\.25,0\.99,happy,0\.91,/);
  });

  test('JSON: every input (errors too), rounding, landmarks optional', () => {
    const full = JSON.parse(jsonDocument(labels, outcomes, { decimals: null, landmarks: true })) as { results: { input: string; error?: string; faces: { landmarks?: unknown[]; score: number }[] }[] };
    assert.equal(full.results.length, 3);
    assert.equal(full.results[2]?.error, 'not a readable image (unsupported format)');
    assert.equal(full.results[0]?.faces[0]?.landmarks?.length, 68);
    const compact = jsonDocument(labels, outcomes, { decimals: 3, landmarks: false });
    const c = JSON.parse(compact) as typeof full;
    assert.equal(c.results[0]?.faces[0]?.landmarks, undefined);
    assert.equal(c.results[0]?.faces[0]?.score, 0.988);
    assert.ok(compact.length < jsonDocument(labels, outcomes, { decimals: null, landmarks: true }).length / 4);
    assert.deepEqual(roundNumbers({ a: [1.23456, { b: -0.00004 }], s: 'x' }, 4), { a: [1.2346, { b: -0 }], s: 'x' });
  });

  test('table: aligned columns (every face row has the same column starts), no-face and error rows', () => {
    const w = Math.max(...outcomes.map((o) => o.file.length));
    const text = tableHeader(w) + outcomes.map((o) => tableRows(o, w)).join('');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 5);
    const start = (l: string, s: string): number => l.indexOf(s);
    assert.equal(start(lines[1] ?? '', 'happy'), start(lines[0] ?? '', 'expression'));
    assert.equal(start(lines[2] ?? '', 'sadness'), start(lines[0] ?? '', 'expression'));
    assert.equal(start(lines[1] ?? '', '91.2%') + 5, start(lines[0] ?? '', 'conf') + 4);
    assert.match(lines[3] ?? '', /^b\/empty\.jpg +0 +no face found$/);
    assert.match(lines[4] ?? '', /error: not a readable image/);
  });

  test('annotated names mirror the input tree and never collide', () => {
    const files = ['x/a/p.jpg', 'x/b/p.jpg', 'x/b/p.png', 'x/c.png'];
    const m = annotatedPaths(files, 'out');
    assert.deepEqual([...m.values()], [join('out', 'a', 'p.annotated.png'), join('out', 'b', 'p.jpg.annotated.png'), join('out', 'b', 'p.png.annotated.png'), join('out', 'c.annotated.png')]);
    assert.deepEqual([...annotatedPaths(['only.png'], 'o').values()], [join('o', 'only.annotated.png')]);
  });

  test('error messages do not repeat the path', () => {
    assert.equal(errorText('p.jpg', new Error('p.jpg: not a readable image (x)')), 'not a readable image (x)');
    assert.equal(errorText('p.jpg', new Error('out of memory')), 'out of memory');
  });
});

describe('CLI usage errors exit 2 before any model loads', () => {
  const img = join(mkdtempSync(join(tmpdir(), 'expnet-opts-')), 'x.png');
  writeFileSync(img, 'not read');
  const cases: [string[], RegExp][] = [
    [['predict', img, '--min-score', 'abc'], /--min-score: expected a number in \[0, 1\], got 'abc'/],
    [['predict', img, '--min-score', '5'], /got '5'/],
    [['predict', img, '--anotate', 'out'], /unknown option --anotate \(did you mean --annotate\?\)/],
    [['predict', img, '--json', '--csv'], /choose one/],
    [['predict', img, '--decimals=-1'], /--decimals: expected an integer in \[0, 12\]/],
    [['serve', '--min-score', '5'], /--min-score: expected a number in \[0, 1\], got '5'/],
    [['serve', '--port', 'http'], /--port: expected an integer in \[0, 65535\]/],
    [['serve', '--detector-size', '100'], /--detector-size: expected a multiple of 32/],
    [['explain', img, '--min-score', 'abc'], /--min-score: expected a number/],
    [['explain', img, '--layer', 'block9'], /--layer: expected one of block1/],
    [['explain', img, '--method', 'gradcm'], /--method: expected one of hirescam, gradcam, got 'gradcm'/],
    [['train', '--dta', 'x'], /unknown option --dta \(did you mean --data\?\)/],
    [['eval', 'x', '--mistake', '3'], /did you mean --mistakes\?/],
    [['train', '--data', 'x', '--keep', 'some'], /--keep: expected one of all, best, last, got 'some'/],
    [['predict', img, '-j', '4'], /unknown option -j\n/],
    [['eval', img, '-j', '4'], /unknown option -j\n/],
    [['predcit', img], /^expnet: unknown command 'predcit' \(did you mean 'predict'\?\)\n {2}\(expnet --help lists the commands\)\n$/],
    [['evla', img], /did you mean 'eval'\?/],
  ];
  for (const [argv, re] of cases)
    test(argv.join(' '), () => {
      const r = cli(...argv);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.split(img).length - 1 <= 1, true, 'the path at most once');
    });
});
