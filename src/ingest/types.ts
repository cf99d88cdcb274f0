// What the rest of facecast sees of a video input: frames pulled one at a time, plus status.
import type { Frame } from '../shared/protocol.ts';

export type { Frame };

/** Why an input failed; see stderr.ts for how ffmpeg's output maps to these. */
export type IngestErrorKind =
  | 'refused'
  | 'auth'
  | 'not-found'
  | 'invalid-data'
  | 'unsupported-codec'
  | 'timeout'
  | 'unreachable'
  | 'protocol'
  | 'device'
  | 'permission'
  | 'no-video'
  | 'killed'
  | 'stalled'
  | 'busy'
  /** ffmpeg is missing, cannot run, or lacks a format this input needs. */
  | 'ffmpeg'
  | 'unknown';

export type SourceStatus =
  | { state: 'idle' }
  /** ffmpeg is being started; attempt counts the reconnects since frames last flowed (0 = first try). */
  | { state: 'connecting'; attempt: number }
  /** The first frame of this connection arrived. */
  | { state: 'playing'; width: number; height: number }
  /** The input failed, ended or stalled; the next try starts in delayMs. */
  | { state: 'reconnecting'; attempt: number; delayMs: number; reason: string; kind?: IngestErrorKind }
  /** No more frames: the file ended ('eof') or stop() was called ('stopped'). */
  | { state: 'ended'; reason: 'eof' | 'stopped' }
  /** One line saying what is wrong and what to do. fatal: the source gave up (iteration throws). */
  | { state: 'error'; kind: IngestErrorKind; message: string; fatal: boolean };

export type StatusListener = (status: SourceStatus) => void;

/**
 * A video input. Iterate it (once) with `for await`; frames come in source order. Leaving the
 * loop early stops the source. A fatal error makes the iteration throw an IngestError.
 */
export interface FrameSource extends AsyncIterable<Frame> {
  readonly channel: string;
  /** Frames thrown away because the consumer was slower than a live input (always 0 for files). */
  readonly dropped: number;
  readonly status: SourceStatus;
  /** Subscribe to status changes; returns the unsubscribe function. */
  onStatus(listener: StatusListener): () => void;
  /** Stop reading: the iteration ends (buffered frames are discarded) and ffmpeg is ended. */
  stop(): Promise<void>;
}

/** A failure a FrameSource reports: `message` is one line for people, `kind` is for code. */
export class IngestError extends Error {
  constructor(
    readonly kind: IngestErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}
