// The ingest module: grabbing sampled RGB frames from files, live streams and capture devices.
export * from './types.ts';
export { ingestConfigSchema, reconnectConfigSchema, INGEST_DEFAULTS, resolveIngestConfig, type IngestConfig, type ReconnectConfig } from './config.ts';
export { parseInput, redact, ALLOWED_INPUTS, InputRefusedError, type InputSpec, type InputKind } from './url.ts';
export { classifyFfmpegStderr, describeFailure, parseShowinfo, type ClassifiedError, type ShowinfoFrame } from './stderr.ts';
export { FfmpegFrameSource, type FfmpegSourceOptions } from './ffmpegSource.ts';
export { ArrayFrameSource, syntheticFrame, syntheticFrames, type ArraySourceOptions } from './arraySource.ts';
export { resolveFfmpeg, type FfmpegBinary } from './ffmpegBinary.ts';
export { backoffDelay } from './backoff.ts';
export { FrameQueue, type QueuePolicy } from './frameQueue.ts';
export { SourcePolicy, SourceRefusedError, type SourcePolicyConfig } from './sourcePolicy.ts';
export { publicStatusText } from './publicStatus.ts';
