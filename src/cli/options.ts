/**
 * One way to read command-line flags for every command: a typed schema (flag, string, list, number with bounds,
 * choice), optional environment fallbacks, and usage errors (ExpnetError BAD_CONFIG → exit 2) that name the
 * flag, what was expected and what arrived; a mistyped flag gets a "did you mean".
 */
import { parseArgs } from 'node:util';
import { ExpnetError } from '../errors.js';

interface Common {
  /** Environment variables read (in order) when the flag is absent. */
  env?: readonly string[];
}
export type OptionSpec =
  | ({ kind: 'flag' } & Common)
  | ({ kind: 'string' } & Common)
  | ({ kind: 'list' } & Common)
  | ({ kind: 'number'; min?: number; max?: number; integer?: boolean; multipleOf?: number } & Common)
  | ({ kind: 'choice'; choices: readonly string[] } & Common);

export type OptionSchema = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends { kind: 'flag' }
  ? boolean
  : S extends { kind: 'number' }
    ? number
    : S extends { kind: 'list' }
      ? string[]
      : S extends { kind: 'choice'; choices: readonly (infer C)[] }
        ? C
        : string;

export type OptionValues<T extends OptionSchema> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

export interface Parsed<T extends OptionSchema> {
  values: OptionValues<T>;
  positionals: string[];
}

/** Edit distance (insert, delete, substitute, swap of neighbours), for suggestions. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  return (d[a.length] as number[])[b.length] as number;
}

/** The closest known name to `name` (a prefix or within a third of its length in edits), or null. */
export function suggest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dist = k.startsWith(name) && name.length >= 2 ? 0.5 : editDistance(name, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : null;
}

/**
 * "unknown option --foo (did you mean --food?)" for an unknown flag among `known` (names without dashes). The flag
 * is named as typed: `-j` stays `-j`; a one-letter short flag gets no guess (any long name is as far from it).
 */
export function unknownOption(flag: string, known: readonly string[]): ExpnetError {
  const dashes = flag.startsWith('--') ? '--' : '-';
  const name = flag.replace(/^-+/, '').replace(/=.*$/, '');
  const s = dashes === '-' && name.length === 1 ? null : suggest(name, known);
  return new ExpnetError('BAD_CONFIG', `unknown option ${dashes}${name}${s ? ` (did you mean --${s}?)` : ''}`);
}

/** "unknown command 'predcit' (did you mean 'predict'?)" among the command names `known`. */
export function unknownCommand(name: string, known: readonly string[]): ExpnetError {
  const s = suggest(name, known);
  return new ExpnetError('BAD_CONFIG', `unknown command '${name}'${s ? ` (did you mean '${s}'?)` : ''}`);
}

function usage(flag: string, source: string, expected: string, text: string): ExpnetError {
  return new ExpnetError('BAD_CONFIG', `${source === '' ? `--${flag}` : `--${flag} / ${source}`}: expected ${expected}, got '${text}'`);
}

function convert(flag: string, spec: OptionSpec, text: string, source: string): string | number {
  if (spec.kind === 'choice') {
    if (!spec.choices.includes(text)) throw usage(flag, source, `one of ${spec.choices.join(', ')}`, text);
    return text;
  }
  if (spec.kind !== 'number') return text;
  const n = text.trim() === '' ? Number.NaN : Number(text);
  const range = spec.min !== undefined && spec.max !== undefined ? ` in [${spec.min}, ${spec.max}]` : spec.min !== undefined ? ` ≥ ${spec.min}` : spec.max !== undefined ? ` ≤ ${spec.max}` : '';
  const what = `${spec.multipleOf ? `a multiple of ${spec.multipleOf}` : spec.integer ? 'an integer' : 'a number'}${range}`;
  if (!Number.isFinite(n) || (spec.integer && !Number.isSafeInteger(n)) || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max) || (spec.multipleOf && n % spec.multipleOf !== 0)) {
    throw usage(flag, source, what, text);
  }
  return n;
}

/** Parses `argv` against `schema`: typed, checked values; unknown flags and bad values are usage errors. */
export function parseOptions<T extends OptionSchema>(argv: readonly string[], schema: T, o: { positionals?: boolean; env?: NodeJS.ProcessEnv } = {}): Parsed<T> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(schema)) options[name] = spec.kind === 'flag' ? { type: 'boolean' } : spec.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: o.positionals ?? false, tokens: true });
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const m = /'(-[^']+)'/.exec((err as Error).message);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) throw unknownOption(m[1] ?? '', Object.keys(schema));
    if (code.startsWith('ERR_PARSE_ARGS')) throw new ExpnetError('BAD_CONFIG', (err as Error).message.replace(/\. To specify a positional.*$/s, ''), { cause: err });
    throw err;
  }
  const env = o.env ?? process.env;
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = parsed.values[name];
    if (spec.kind === 'flag') {
      if (raw !== undefined) values[name] = raw;
      else for (const e of spec.env ?? []) if (env[e] !== undefined && env[e] !== '') values[name] ??= env[e] === '1' || env[e] === 'true';
      continue;
    }
    if (spec.kind === 'list') {
      if (raw !== undefined) values[name] = raw;
      continue;
    }
    if (typeof raw === 'string') {
      values[name] = convert(name, spec, raw, '');
      continue;
    }
    const e = (spec.env ?? []).find((k) => env[k] !== undefined && env[k] !== '');
    if (e !== undefined) values[name] = convert(name, spec, env[e] ?? '', e);
  }
  return { values: values as OptionValues<T>, positionals: parsed.positionals };
}

/** The detector and model flags shared by predict, serve and explain (defaults: src/infer/facePipeline.ts). */
export const DETECTOR_OPTIONS = {
  models: { kind: 'string' },
  model: { kind: 'string' },
  'min-score': { kind: 'number', min: 0, max: 1 },
  'detector-size': { kind: 'number', min: 32, max: 2048, multipleOf: 32 },
  'detector-precision': { kind: 'choice', choices: ['int8', 'float32'] },
  'any-format': { kind: 'flag' },
} as const satisfies OptionSchema;

/** RecognizerOptions from the shared detector flags. */
export function recognizerOptions(v: OptionValues<typeof DETECTOR_OPTIONS>): {
  modelDir?: string;
  expressionModel?: string;
  detector?: { minConfidence: number };
  detectorSize?: number;
  detectorPrecision?: 'int8' | 'float32';
  anyFormat: boolean;
} {
  return {
    ...(v.models !== undefined ? { modelDir: v.models } : {}),
    ...(v.model !== undefined ? { expressionModel: v.model } : {}),
    ...(v['min-score'] !== undefined ? { detector: { minConfidence: v['min-score'] } } : {}),
    ...(v['detector-size'] !== undefined ? { detectorSize: v['detector-size'] } : {}),
    ...(v['detector-precision'] !== undefined ? { detectorPrecision: v['detector-precision'] } : {}),
    anyFormat: v['any-format'] === true,
  };
}
