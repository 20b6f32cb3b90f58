/**
 * The data sets of a training run: repeatable `--data`, with `--format` and `--weight` given once per `--data`
 * in the same order (`auto` detects the format from the content), or a `data` list in the config file
 * (`[{ path, format?, weight?, labelled? }]`; `--data` replaces it). Formats given are checked at once; the
 * others are detected by `detectEntryFormats` once the config has resolved.
 */
import type { Detection } from '../data/detectFormat.js';
import { ExpnetError } from '../errors.js';
import { checkDataEntry, ENTRY_FORMATS, type DataEntry, type EntryFormat, type ResolvedEntry } from '../train/dataMix.js';

export type { ResolvedEntry } from '../train/dataMix.js';

export interface DataArgs {
  data?: string[] | undefined;
  format?: string[] | undefined;
  weight?: string[] | undefined;
}

function checkFormat(f: string, where: string): EntryFormat {
  if (!ENTRY_FORMATS.includes(f as EntryFormat)) throw new ExpnetError('BAD_CONFIG', `${where}: expected one of ${ENTRY_FORMATS.join(', ')}, got ${f}`);
  return f as EntryFormat;
}

/** A given format, checked; undefined (or `auto`) = detect later. */
function givenFormat(f: string | undefined, where: string): { format?: EntryFormat } {
  return f === undefined || f === 'auto' ? {} : { format: checkFormat(f, where) };
}

/** `--format`/`--weight` values paired with the `--data` values: none, or exactly one per `--data`. */
function paired(values: readonly string[] | undefined, n: number, flag: string): (string | undefined)[] {
  if (values === undefined || values.length === 0) return new Array<undefined>(n).fill(undefined);
  if (values.length !== n) throw new ExpnetError('BAD_CONFIG', `${flag} given ${values.length} time(s) for ${n} --data: give it once per --data, in the same order (--format auto guesses)`);
  return [...values];
}

/**
 * The entries (format undefined where it is to be detected) and whether the run is a multi-data run (several
 * sets, a config `data` list, a weight or an unlabelled set); a plain single `--data` trains exactly as before
 * multi-data training existed. Null when no data set is given at all.
 */
export function resolveDataEntries(a: DataArgs, fileData: unknown): { entries: DataEntry[]; mix: boolean } | null {
  if (a.data && a.data.length > 0) {
    const formats = paired(a.format, a.data.length, '--format');
    const weights = paired(a.weight, a.data.length, '--weight');
    const entries = a.data.map((path, i): DataEntry => {
      const w = weights[i];
      const weight = w === undefined ? undefined : Number(w);
      if (weight !== undefined && !(weight >= 0)) throw new ExpnetError('BAD_CONFIG', `--weight: expected a number ≥ 0, got ${w}`);
      return { path, ...givenFormat(formats[i], '--format'), ...(weight !== undefined ? { weight } : {}) };
    });
    return { entries, mix: entries.length > 1 || a.weight !== undefined || entries.some((e) => e.format === 'unlabelled') };
  }
  if (fileData === undefined) return null;
  if (!Array.isArray(fileData) || fileData.length === 0) throw new ExpnetError('BAD_CONFIG', `config.data: expected a list of { path, format?, weight?, labelled? }, got ${JSON.stringify(fileData)}`);
  if (a.format?.length || a.weight?.length) throw new ExpnetError('BAD_CONFIG', '--format and --weight pair with --data; with a config data list, give them in its entries');
  const entries = fileData.map((raw, i): DataEntry => {
    const { format, ...e } = checkDataEntry(raw, `config.data[${i}]`);
    return { ...e, ...givenFormat(format, `config.data[${i}].format`) };
  });
  return { entries, mix: true };
}

/** Every entry with a format: the given one, else `detect`'s (with what it was told from, for the log). */
export function detectEntryFormats(entries: readonly DataEntry[], detect: (path: string) => Detection): { entries: ResolvedEntry[]; detected: { path: string; detection: Detection }[] } {
  const detected: { path: string; detection: Detection }[] = [];
  const out = entries.map((e): ResolvedEntry => {
    if (e.format !== undefined) return { ...e, format: e.format };
    const detection = detect(e.path);
    detected.push({ path: e.path, detection });
    return { ...e, format: detection.format };
  });
  return { entries: out, detected };
}
