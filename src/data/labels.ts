import { ExpnetError } from '../errors.js';

/** The canonical expression labels of expnet; every reader maps its data set's names onto these. */
export type ExpressionLabel =
  | 'anger'
  | 'contempt'
  | 'disgust'
  | 'fear'
  | 'happy'
  | 'neutral'
  | 'sadness'
  | 'surprise';

/** All canonical labels, alphabetical. */
export const EXPRESSION_LABELS: readonly ExpressionLabel[] = [
  'anger', 'contempt', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise',
];

/**
 * The synonym map, stated once: lower-case raw name → canonical label.
 * Covers the folder/column names used by CK+, CK+48, FER2013, JAFFE, Oulu-CASIA, SFEW 2.0 and TFD.
 */
const SYNONYMS: Readonly<Record<string, ExpressionLabel>> = {
  anger: 'anger', angry: 'anger',
  contempt: 'contempt', contemptuous: 'contempt',
  disgust: 'disgust', disgusted: 'disgust',
  fear: 'fear', fearful: 'fear', afraid: 'fear', scared: 'fear',
  happy: 'happy', happiness: 'happy', joy: 'happy',
  neutral: 'neutral',
  sad: 'sadness', sadness: 'sadness',
  surprise: 'surprise', surprised: 'surprise',
};

/** Maps a raw label (any case, surrounding spaces ignored) to its canonical label, or undefined. */
export function tryCanonicalLabel(raw: string): ExpressionLabel | undefined {
  const key = raw.trim().toLowerCase();
  return Object.hasOwn(SYNONYMS, key) ? SYNONYMS[key] : undefined;
}

/**
 * Maps a raw label to its canonical label.
 * @param where names the source (file, file:line, folder) for the error message.
 * @throws ExpnetError('BAD_LABEL_FILE') when the label is unknown.
 */
export function canonicalLabel(raw: string, where: string): ExpressionLabel {
  const label = tryCanonicalLabel(raw);
  if (label === undefined) {
    throw new ExpnetError(
      'BAD_LABEL_FILE',
      `${where}: unknown expression label ${JSON.stringify(raw)}; expected one of ${Object.keys(SYNONYMS).join(', ')}`,
    );
  }
  return label;
}

/**
 * A model card's label list as canonical labels (exact names, no synonyms: cards are written by expnet).
 * @throws ExpnetError('BAD_MODEL') naming `where` when the list is empty or holds another name.
 */
export function modelLabels(labels: readonly unknown[], where: string): ExpressionLabel[] {
  const ok = labels.filter(isExpressionLabel);
  if (ok.length === 0 || ok.length !== labels.length) {
    const got = labels.length === 0 ? 'none' : labels.filter((l) => !isExpressionLabel(l)).map((l) => JSON.stringify(l)).join(', ');
    throw new ExpnetError('BAD_MODEL', `${where}: expected labels among ${EXPRESSION_LABELS.join(', ')}, got ${got}`);
  }
  return ok;
}

/** Whether `x` is one of the canonical labels (exactly). */
export function isExpressionLabel(x: unknown): x is ExpressionLabel {
  return (EXPRESSION_LABELS as readonly unknown[]).includes(x);
}

/** FER2013 class order: emotion 0..6 = angry, disgust, fear, happy, sad, surprise, neutral. */
export const FER2013_LABELS: readonly ExpressionLabel[] = [
  'anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise', 'neutral',
];

/** CK+ Emotion codes 0..7 = neutral, anger, contempt, disgust, fear, happy, sadness, surprise. */
export const CKPLUS_LABELS: readonly ExpressionLabel[] = [
  'neutral', 'anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise',
];

/** The 7 class folders of CK+48 (alphabetical = CK+ codes 1..7). */
export const CKPLUS48_LABELS: readonly ExpressionLabel[] = CKPLUS_LABELS.slice(1);

/** The 6 basic expressions (CK+ 6-class protocol, Oulu-CASIA). */
export const BASIC6_LABELS: readonly ExpressionLabel[] = [
  'anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise',
];

/** The 6 basic expressions + neutral, alphabetical (JAFFE, SFEW 2.0). */
export const BASIC7_LABELS: readonly ExpressionLabel[] = [
  'anger', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise',
];

/** TFD labs_ex codes 1..7 = anger, disgust, fear, happy, sad, surprise, neutral (index = code − 1). */
export const TFD_LABELS: readonly ExpressionLabel[] = FER2013_LABELS;

/** The distinct labels of some samples, in canonical (alphabetical) order. */
export function presentLabels(samples: Iterable<{ label: ExpressionLabel }>): ExpressionLabel[] {
  const seen = new Set<ExpressionLabel>();
  for (const s of samples) seen.add(s.label);
  return EXPRESSION_LABELS.filter((l) => seen.has(l));
}
