import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { FER2013_LABELS } from './labels.js';
import { columnIndex, parseCsvLine } from './parseCsv.js';
import { parsePixels } from './parsePixels.js';

/**
 * Reads the official FER2013 CSV (`fer2013.csv`: columns `emotion,pixels,Usage`, in any order, header names
 * trimmed, so `icml_face_data.csv`'s `emotion, Usage, pixels` works too). emotion 0..6 = FER2013_LABELS,
 * pixels = 2304 space-separated values (48×48 gray) → `Sample.pixels`, Usage (Training/PublicTest/PrivateTest)
 * → `Sample.split`. Sample.path is the locator `<csv name>:<line>`. The file is streamed line by line.
 * @throws ExpnetError('BAD_LABEL_FILE') naming file and line for any row that does not parse.
 */
export async function readFer2013Csv(csvFile: string): Promise<DataSet> {
  const abs = path.resolve(csvFile);
  const base = path.basename(abs);
  const stream = createReadStream(abs, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (cause) => reject(new ExpnetError('NOT_FOUND', `cannot read ${abs}: expected the FER2013 CSV`, { cause })));
  });
  await opened;
  const samples: Sample[] = [];
  let col: { emotion: number; pixels: number; usage: number | undefined } | undefined;
  let lineNo = 0;
  for await (const rawLine of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    const line = lineNo === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (line.trim() === '') continue;
    const fields = parseCsvLine(line);
    if (col === undefined) {
      const header = fields.map((f) => f.trim().toLowerCase());
      col = {
        emotion: columnIndex(header, 'emotion', abs, true),
        pixels: columnIndex(header, 'pixels', abs, true),
        usage: columnIndex(header, 'usage', abs, false),
      };
      continue;
    }
    const where = `${abs}:${lineNo}`;
    const emotion = fields[col.emotion]?.trim() ?? '';
    const label = /^\d$/.test(emotion) ? FER2013_LABELS[Number(emotion)] : undefined;
    if (label === undefined) {
      throw new ExpnetError('BAD_LABEL_FILE', `${where}: expected emotion 0..6, found ${JSON.stringify(emotion)}`);
    }
    const sample: Sample = { path: `${base}:${lineNo}`, label, pixels: parsePixels((fields[col.pixels] ?? '').trim(), where) };
    const usage = col.usage === undefined ? undefined : fields[col.usage]?.trim();
    if (usage !== undefined && usage !== '') sample.split = usage;
    samples.push(sample);
  }
  if (col === undefined) throw new ExpnetError('BAD_LABEL_FILE', `${abs}:1: empty file, expected header emotion,pixels,Usage`);
  return { name: 'fer2013', root: path.dirname(abs), labels: FER2013_LABELS, samples };
}
