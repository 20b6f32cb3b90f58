/**
 * `expnet/train`: the training API on the libtorch engine (needs the addon: `npx expnet build-native`):
 * configs, data-set readers, the paper's methods and protocols, run folders, model files and ONNX export.
 */
export * from './config.js';
export { crossValidate, DATA_FORMATS, officialSplit, readDataSet, summarise, trainOnDataSet, validationSplit, type CvOptions, type CvSummary, type DataFormat, type MethodFold, type TrainRun } from './experiment.js';
export { trainMethod, type Splits, type TrainedModel, type TrainHooks } from './trainMethod.js';
export { trainOnMix, type MixRun, type SetResult } from './trainMix.js';
export { readMix, type DataEntry, type EntryFormat, type MixPart, type ResolvedEntry } from './dataMix.js';
export { calibrateTemperature, fitTemperature, type TemperatureCalibration } from '../eval/temperature.js';
export { childContext, createRunContext, silentReporter, type Progress, type Reporter, type RunContext } from './runContext.js';
export { loadImageSet, type ImageSet } from './imageSet.js';
export * from './metrics.js';
export { launchWorkers, type LaunchOptions, type LaunchResult } from './distributedLauncher.js';
export { ExpNet, EXPNET_DEFAULTS, type ExpNetConfig } from '../nets/expNet.js';
export { loadExpNetModel, readModelCard, saveExpNetModel, type ModelCard } from '../nets/modelCard.js';
export { EXPORT_ONNX_DEFAULTS, exportOnnx, saveOnnx, type ExportOnnxOptions } from '../export/onnxExport.js';
export * as data from '../data/index.js';
