/** The data layer: readers per data set, decoding (sharp), augmentation, person-independent splits, batches. */
export * from './labels.js';
export * from './dataSet.js';
export { readCkPlus, parseCkPlusEmotion, type CkPlusOptions } from './ckplus.js';
export { readCkPlus48, parseCkPlusName, type CkPlus48Options } from './ckplus48.js';
export { readFer2013, type Fer2013Options, type Fer2013Split } from './fer2013.js';
export { readFer2013Csv } from './fer2013Csv.js';
export { readJaffe } from './jaffe.js';
export { readOuluCasia, type OuluCasiaOptions } from './ouluCasia.js';
export { readSfew } from './sfew.js';
export { readTfd, type TfdOptions } from './tfd.js';
export { readImageFolder, type ImageFolderOptions } from './imageFolder.js';
export { readCsvManifest, type CsvManifestOptions } from './csvManifest.js';
export { personIndependentFolds, carveValidation, type Fold } from './splits.js';
export { Rng } from './rng.js';
export * from './decode.js';
export * from './augment.js';
export { BatchLoader, type Batch, type LoaderOptions } from './loader.js';
export { dataRoot, projectRoot } from './dataRoot.js';
