/** Command-line image arguments → files: plain files, folders (recursive), and globs (* and **). */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isImageFile } from '../data/listDir.js';

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (isImageFile(e.name)) out.push(p);
  }
}

function globToRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands the arguments; missing paths are returned in `missing` (reported, not fatal). */
export function expandInputs(args: readonly string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  for (const a of args) {
    if (/[*?]/.test(a)) {
      const base = a.slice(0, a.search(/[*?]/)).replace(/[^/]*$/, '') || '.';
      const re = globToRegex(a.startsWith('./') ? a.slice(2) : a);
      const found: string[] = [];
      try {
        walk(base, found);
      } catch {
        missing.push(a);
        continue;
      }
      const hits = found.filter((f) => re.test(relative('.', f).split(sep).join('/')) || re.test(f));
      if (hits.length === 0) missing.push(a);
      files.push(...hits);
      continue;
    }
    let st;
    try {
      st = statSync(a);
    } catch {
      missing.push(a);
      continue;
    }
    if (st.isDirectory()) walk(a, files);
    else files.push(a);
  }
  return { files, missing };
}
