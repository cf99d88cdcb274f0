// A FrameSource that runs ffmpeg (through fluent-ffmpeg) and cuts its raw RGB24 output into
// frames. One ffmpeg process is a "session"; live inputs get a new session after an error, EOF
// or stall (with backoff), files end at EOF. See args.ts for the command line and how pts is
// derived, frameQueue.ts for what happens when the consumer is slow.
import type { ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { silentLogger, type Logger } from '../shared/log.ts';
import { buildInputOptions, buildOutputOptions } from './args.ts';
import { FrameAssembler, type AssembledFrame } from './assembler.ts';
import { backoffDelay } from './backoff.ts';
import { resolveIngestConfig, type IngestConfig, type ReconnectConfig } from './config.ts';
import { resolveFfmpeg, type FfmpegBinary } from './ffmpegBinary.ts';
import { FrameQueue } from './frameQueue.ts';
import { StatusHub } from './status.ts';
import { describeFailure, parseShowinfo, type ClassifiedError } from './stderr.ts';
import { IngestError, type Frame, type FrameSource, type IngestErrorKind, type SourceStatus, type StatusListener } from './types.ts';
import { parseInput, type InputSpec } from './url.ts';

export interface FfmpegSourceOptions extends Partial<Omit<IngestConfig, 'reconnect'>> {
  /** File path, stream URL or capture device; see url.ts for what is accepted. */
  input: string;
  /** Name carried by every frame (default 'main'). */
  channel?: string;
  /** Override live behaviour (reconnect, watchdog, drop-oldest); default: files no, the rest yes. */
  live?: boolean;
  reconnect?: Partial<ReconnectConfig>;
  logger?: Logger;
  /** HLS: the URL of a proxy every request must go through (SourcePolicy.hlsProxyUrl for operator sources). */
  hlsProxy?: () => Promise<string>;
}

interface Session {
  cmd: ffmpeg.FfmpegCommand;
  out: PassThrough;
  assembler: FrameAssembler;
  /** Last stderr lines other than showinfo's, for error messages. */
  tail: string[];
  child?: ChildProcess;
  frames: number;
  /** Set when facecast itself ends the session (watchdog), to report that instead of the kill. */
  abort?: ClassifiedError;
  /** Signal to send as soon as ffmpeg is spawned (stop() or the watchdog before 'start'). */
  pendingKill?: NodeJS.Signals;
  exit?: { error?: Error };
  outDone: boolean;
  finished: boolean;
  watchdog?: NodeJS.Timeout;
  exited: Promise<void>;
  markExited: () => void;
}

/** Errors a new connection cannot fix: give up even on a live input. */
const FATAL_KINDS: ReadonlySet<IngestErrorKind> = new Set(['protocol', 'ffmpeg']);
const TAIL_LINES = 40;

export class FfmpegFrameSource implements FrameSource {
  readonly channel: string;
  readonly spec: InputSpec;
  readonly live: boolean;
  readonly config: IngestConfig;
  private readonly log: Logger;
  private readonly hub = new StatusHub();
  private readonly queue: FrameQueue;
  private session: Session | null = null;
  private started = false;
  private stopped = false;
  private seq = 0;
  private lastPts: number | null = null;
  /** Reconnect attempts since frames last flowed. */
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly hlsProxy?: () => Promise<string>;

  /** Throws InputRefusedError for an input outside the whitelist (url.ts). Nothing runs until iterated or start(). */
  constructor(options: FfmpegSourceOptions) {
    this.spec = parseInput(options.input);
    this.config = resolveIngestConfig(options);
    this.channel = options.channel ?? 'main';
    this.live = options.live ?? this.spec.live;
    this.hlsProxy = this.spec.kind === 'hls' ? options.hlsProxy : undefined;
    this.log = (options.logger ?? silentLogger).child({ module: 'ingest', channel: this.channel, input: this.spec.display });
    this.queue = this.live
      ? new FrameQueue({ policy: 'dropOldest', capacity: this.config.liveBufferFrames })
      : new FrameQueue({
          policy: 'block',
          capacity: this.config.fileReadAheadFrames,
          // Not reading stdout fills the pipe, and ffmpeg then blocks on its write: the file is
          // read only as fast as frames are consumed, and none is lost.
          onFull: () => this.session?.out.pause(),
          onSpace: () => this.session?.out.resume(),
        });
  }

  get dropped(): number {
    return this.queue.dropped;
  }

  get status(): SourceStatus {
    return this.hub.status;
  }

  /** pid of the running ffmpeg, if any (tests, diagnostics). */
  get childPid(): number | undefined {
    const child = this.session?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  onStatus(listener: StatusListener): () => void {
    return this.hub.on(listener);
  }

  /** Test and diagnostics hook: kill ffmpeg as if it had crashed (a live input reconnects). */
  killChild(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.session?.child?.kill(signal) ?? false;
  }

  /** Start reading now rather than on the first next(). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    const session = this.session;
    if (!this.stopped) {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      this.queue.clear();
      this.queue.end();
      const s = this.hub.status;
      if (s.state !== 'ended' && !(s.state === 'error' && s.fatal)) this.hub.emit({ state: 'ended', reason: 'stopped' });
      this.log.info('stopped');
      if (session) {
        this.kill(session, 'SIGKILL');
        session.out.resume(); // let the pipe drain so nothing waits on it
      }
    }
    if (session && session.child) await session.exited;
  }

  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    this.start();
    return {
      next: () => this.queue.next(),
      return: async () => {
        await this.stop();
        return { value: undefined, done: true };
      },
    };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.hub.emit({ state: 'connecting', attempt: this.attempt });
    let binary: FfmpegBinary;
    let proxy: string | undefined;
    try {
      binary = await resolveFfmpeg(this.config.ffmpegPath, this.log);
      proxy = await this.hlsProxy?.();
    } catch (err) {
      const e = err instanceof IngestError ? err : new IngestError('ffmpeg', String(err));
      this.fatal({ kind: e.kind, message: e.message });
      return;
    }
    if (!this.stopped) this.spawn(binary, proxy);
  }

  private spawn(binary: FfmpegBinary, proxy?: string): void {
    // autoDestroy off: fluent-ffmpeg treats the output stream's 'close' as an error and kills
    // ffmpeg 20 ms later, which could race with a normal exit.
    const out = new PassThrough({ autoDestroy: false });
    const cmd = ffmpeg()
      .setFfmpegPath(binary.path)
      .input(this.spec.ffmpegInput)
      .inputOptions(...buildInputOptions(this.spec, this.config, this.live, proxy))
      .outputOptions(...buildOutputOptions(this.config, binary.fpsModeFlag))
      .format('rawvideo');
    let markExited = () => {};
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const s: Session = { cmd, out, tail: [], frames: 0, outDone: false, finished: false, exited, markExited, assembler: new FrameAssembler((f) => this.onFrame(s, f)) };
    this.session = s;

    cmd.on('start', (commandLine: string) => {
      s.child = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.log.debug({ pid: s.child?.pid, command: commandLine.split(this.spec.ffmpegInput).join(this.spec.display) }, 'ffmpeg started');
      if (s.pendingKill) this.kill(s, s.pendingKill);
    });
    cmd.on('stderr', (line: string) => this.onStderr(s, line));
    cmd.on('end', () => this.onExit(s));
    cmd.on('error', (err: Error) => this.onExit(s, err));
    out.on('data', (chunk: Buffer) => s.assembler.addData(chunk));
    out.on('end', () => {
      s.outDone = true;
      this.maybeFinish(s);
    });
    out.on('error', () => {}); // fluent-ffmpeg reports the process side
    if (this.live && this.config.stallTimeoutSec > 0) {
      // Until the first frame, ffmpeg may spend probeSec analysing the stream: allow for it.
      s.watchdog = setTimeout(() => this.onStall(s), (this.config.stallTimeoutSec + this.config.probeSec) * 1000);
    }
    cmd.pipe(out, { end: true });
  }

  private onStderr(s: Session, line: string): void {
    if (line.includes('Parsed_showinfo')) {
      const info = parseShowinfo(line);
      if (info) s.assembler.addInfo(info);
      return;
    }
    if (!line.trim()) return;
    const safe = line.split(this.spec.ffmpegInput).join(this.spec.display);
    s.tail.push(safe);
    if (s.tail.length > TAIL_LINES) s.tail.shift();
    this.log.trace({ ffmpeg: safe });
  }

  private onFrame(s: Session, { info, rgb }: AssembledFrame): void {
    if (this.stopped || s !== this.session) return;
    s.frames++;
    // A frame without a timestamp (rare raw inputs) is placed one sample period after the last.
    const pts = info.pts ?? (this.lastPts === null ? 0 : this.lastPts + 1 / this.config.fps);
    this.lastPts = pts;
    const frame: Frame = { channel: this.channel, seq: this.seq++, pts, wallMs: Date.now(), width: info.width, height: info.height, rgb };
    if (s.frames === 1 && s.watchdog) {
      clearTimeout(s.watchdog);
      s.watchdog = setTimeout(() => this.onStall(s), this.config.stallTimeoutSec * 1000);
    } else s.watchdog?.refresh();
    if (s.frames === 1) {
      this.attempt = 0;
      this.hub.emit({ state: 'playing', width: info.width, height: info.height });
      this.log.info({ pid: s.child?.pid, width: info.width, height: info.height, pts }, 'playing');
    }
    this.queue.push(frame);
  }

  private onStall(s: Session): void {
    if (s.finished || this.stopped) return;
    const waited = s.frames ? this.config.stallTimeoutSec : this.config.stallTimeoutSec + this.config.probeSec;
    const message = `No frame from ${this.spec.display} for ${waited} s: the input stalled — restarting it.`;
    s.abort = { kind: 'stalled', message };
    this.log.warn(message);
    this.kill(s, 'SIGKILL');
  }

  private kill(s: Session, signal: NodeJS.Signals): void {
    if (!s.child) {
      s.pendingKill = signal; // still in fluent-ffmpeg's checks: kill once spawned
      return;
    }
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill(signal);
  }

  private onExit(s: Session, error?: Error): void {
    if (s.exit) return;
    s.exit = { error };
    clearTimeout(s.watchdog);
    // Failed before spawning (capability check, missing binary): no output will ever come.
    if (!s.child) s.outDone = true;
    s.markExited();
    this.maybeFinish(s);
  }

  /** A session is over once ffmpeg exited and every byte it wrote has been read. */
  private maybeFinish(s: Session): void {
    if (!s.exit || !s.outDone || s.finished) return;
    s.finished = true;
    if (this.session === s) this.session = null;
    if (this.stopped) return;
    if (s.assembler.pendingBytes > 0) this.log.debug({ bytes: s.assembler.pendingBytes }, 'discarded a truncated last frame');
    const failure = s.abort ?? (s.exit.error ? this.describe(s, s.exit.error) : null);
    if (!this.live) {
      if (failure) return this.fatal(failure);
      this.hub.emit({ state: 'ended', reason: 'eof' });
      this.log.info({ frames: this.seq }, 'ended');
      this.queue.end();
      return;
    }
    if (failure && FATAL_KINDS.has(failure.kind)) return this.fatal(failure);
    if (failure) {
      this.hub.emit({ state: 'error', kind: failure.kind, message: failure.message, fatal: false });
      this.log.warn({ kind: failure.kind }, failure.message);
    }
    this.reconnect(failure ?? { kind: 'unknown', message: `${this.spec.display} ended (EOF): the stream stopped or its playlist finished.` }, !failure);
  }

  private describe(s: Session, error: Error): ClassifiedError {
    const signal = /killed with signal (\w+)/.exec(error.message)?.[1];
    if (signal) return { kind: 'killed', message: `ffmpeg reading ${this.spec.display} was killed (${signal}) from outside facecast.` };
    // Failing before the spawn means fluent-ffmpeg's checks refused (binary gone, or a demuxer
    // such as v4l2 missing from this build): no retry can fix that.
    if (!s.child) return { kind: 'ffmpeg', message: `ffmpeg cannot read ${this.spec.display}: ${error.message.split('\n')[0]} — install a full ffmpeg build or fix ingest.ffmpegPath.` };
    return describeFailure(s.tail, this.spec.display, error.message.split('\n')[0]);
  }

  private reconnect(cause: ClassifiedError, eof = false): void {
    this.attempt++;
    const { maxAttempts } = this.config.reconnect;
    if (maxAttempts > 0 && this.attempt > maxAttempts) {
      return this.fatal({ kind: cause.kind, message: `Gave up on ${this.spec.display} after ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}: ${cause.message}` });
    }
    const delayMs = backoffDelay(this.attempt, this.config.reconnect);
    this.hub.emit({ state: 'reconnecting', attempt: this.attempt, delayMs, reason: cause.message, kind: eof ? undefined : cause.kind });
    this.log.warn({ attempt: this.attempt, delayMs }, `reconnecting: ${cause.message}`);
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
  }

  private fatal(failure: ClassifiedError): void {
    this.hub.emit({ state: 'error', kind: failure.kind, message: failure.message, fatal: true });
    this.log.error({ kind: failure.kind }, failure.message);
    this.queue.fail(new IngestError(failure.kind, failure.message));
  }
}
