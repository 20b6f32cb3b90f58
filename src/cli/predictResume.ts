/**
 * `predict --jsonl --output FILE --resume`: the inputs FILE already answers (one JSON line each) are skipped;
 * failed ones are tried again (their rows are removed, so every input keeps one row). A line cut short by an
 * interrupted run is dropped, so the appended rows stay valid JSON Lines.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ExpnetError } from '../errors.js';

/** Inputs answered in `file` (none when it does not exist yet); rewrites it without failed rows and a cut-off line. */
export function resumeDone(file: string): Set<string> {
  const done = new Set<string>();
  if (!existsSync(file)) return done;
  const text = readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  const kept: string[] = [];
  for (const [i, line] of text.slice(0, end).split('\n').entries()) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (cause) {
      throw new ExpnetError('BAD_INPUT', `--resume: ${file}:${i + 1} is not a JSON line (expected the --jsonl output of an earlier run)`, { cause });
    }
    const r = row as { input?: unknown; error?: unknown };
    if (typeof r.input !== 'string') throw new ExpnetError('BAD_INPUT', `--resume: ${file}:${i + 1} has no "input" (expected the --jsonl output of an earlier run)`);
    if (r.error === undefined && !done.has(r.input)) {
      done.add(r.input);
      kept.push(`${line}\n`);
    }
  }
  const rewritten = kept.join('');
  if (rewritten !== text) {
    writeFileSync(`${file}.tmp`, rewritten);
    renameSync(`${file}.tmp`, file);
  }
  return done;
}
