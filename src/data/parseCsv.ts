import { ExpnetError } from '../errors.js';

/** One CSV record with the 1-based line number where it starts. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** A parsed CSV: header names (trimmed, lower-cased) and data rows. */
export interface CsvTable {
  file: string;
  header: string[];
  rows: CsvRow[];
}

/**
 * Parses RFC 4180 CSV text: comma separated, `"` quoting with `""` escapes, quoted fields may span lines,
 * CRLF or LF line ends, a UTF-8 BOM is dropped, blank lines are skipped. The first record is the header.
 * @throws ExpnetError('BAD_LABEL_FILE') on an unterminated quote or a row whose field count differs from the header.
 */
export function parseCsv(text: string, file: string): CsvTable {
  const records: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new ExpnetError('BAD_LABEL_FILE', `${file}:${recordLine}: unterminated quoted field`);
  if (field !== '' || fields.length > 0) endRecord();
  const head = records.shift();
  if (head === undefined) throw new ExpnetError('BAD_LABEL_FILE', `${file}: empty CSV, expected a header row`);
  const header = head.fields.map((h) => h.trim().toLowerCase());
  for (const row of records) {
    if (row.fields.length !== header.length) {
      throw new ExpnetError(
        'BAD_LABEL_FILE',
        `${file}:${row.line}: expected ${header.length} fields (${header.join(',')}), found ${row.fields.length}`,
      );
    }
  }
  return { file, header, rows: records };
}

/** Splits one CSV line without quotes spanning lines (fast path for big files read line by line). */
export function parseCsvLine(text: string): string[] {
  if (!text.includes('"')) return text.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') { out.push(field); field = ''; } else field += ch;
  }
  out.push(field);
  return out;
}

/** Index of a column by (case-insensitive) name; with `required`, throws BAD_LABEL_FILE naming the file. */
export function columnIndex(header: readonly string[], name: string, file: string, required: true): number;
export function columnIndex(header: readonly string[], name: string, file: string, required: false): number | undefined;
export function columnIndex(header: readonly string[], name: string, file: string, required: boolean): number | undefined {
  const i = header.indexOf(name.toLowerCase());
  if (i >= 0) return i;
  if (required) {
    throw new ExpnetError('BAD_LABEL_FILE', `${file}:1: expected a column '${name}' in the header, found ${header.join(',')}`);
  }
  return undefined;
}
