/** The engine: libtorch tensors, autograd, nn modules, optimisers, schedules, checkpoints. */
export * from './tensor.js';
export * from './creation.js';
export * as F from './functional.js';
export * from './runtime.js';
export * from './scope.js';
export * from './module.js';
export * from './layers.js';
export * from './optim.js';
export * from './schedules.js';
export * from './program.js';
export * from './autocast.js';
export * from './safetensors.js';
export * from './checkpoint.js';
export { assertNativeBuilt, BUILD_NATIVE_COMMAND, native, nativePath, packageRoot } from './native.js';
export * as dist from './distributed.js';
