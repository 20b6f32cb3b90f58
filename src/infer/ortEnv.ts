/**
 * ONNX Runtime's telemetry, off for every session this process creates. onnxruntime-node's Linux and macOS
 * builds carry Microsoft's 1DS uploader: measured with strace on 1.30, a process with one session writes a
 * device id and an event database under ~/.cache/Microsoft/DeveloperTools/.onnxruntime at once and resolves
 * mobile.events.data.microsoft.com about 9 s later, then every ~26 s. ORT reads `ORT_DISABLE_TELEMETRY` when it
 * creates its environment (the first InferenceSession); session.ts imports this module before onnxruntime-node,
 * so the variable is set first. It overrides a value set by the user: expnet never contacts the network at run
 * time. Child processes (data-parallel workers) inherit it.
 */
process.env['ORT_DISABLE_TELEMETRY'] = '1';

/** The variable set above, for tests and docs. */
export const ORT_TELEMETRY_ENV = 'ORT_DISABLE_TELEMETRY';
