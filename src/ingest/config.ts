// The `ingest` section of the configuration: how frames are grabbed from a stream. The lead
// merges `ingestConfigSchema` into src/config/schema.ts and INGEST_DEFAULTS into
// config/default.json; sources also accept a partial copy directly (tests, library use).
import { z } from 'zod';

export const reconnectConfigSchema = z
  .object({
    baseMs: z.number().int().min(0).describe('Delay before the first reconnect attempt, in milliseconds.'),
    factor: z.number().min(1).describe('Each further attempt waits this many times longer than the one before.'),
    maxMs: z.number().int().min(0).describe('Longest wait between attempts, in milliseconds.'),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .describe('Random spread of each delay as a fraction (0.2 = ±20%), so many sources do not hammer a server in step.'),
    maxAttempts: z
      .number()
      .int()
      .min(0)
      .describe('Give up after this many attempts in a row without a frame (0 = keep trying forever).'),
  })
  .describe('Exponential backoff for live inputs after an error, EOF or stall; the count resets once frames flow again.');

export const ingestConfigSchema = z
  .object({
    ffmpegPath: z
      .string()
      .describe('ffmpeg binary to run. Empty: ffmpeg on PATH, else the binary bundled by @ffmpeg-installer/ffmpeg.'),
    fps: z.number().positive().max(60).describe('Frames sampled per second of source time (at most one per 1/fps slot; never duplicated).'),
    maxWidth: z.number().int().min(16).max(7680).describe('Working width limit in pixels: frames are scaled down (never up) to fit, keeping aspect, even sizes.'),
    maxHeight: z.number().int().min(16).max(4320).describe('Working height limit in pixels (see maxWidth).'),
    realtime: z.boolean().describe('Files only: read at the native frame rate (ffmpeg -re) instead of as fast as the consumer pulls.'),
    loop: z.boolean().describe('Files only: start again at the end (ffmpeg -stream_loop -1); pts keep increasing across loops.'),
    liveBufferFrames: z
      .number()
      .int()
      .min(1)
      .max(100)
      .describe('Live inputs: frames kept for a slow consumer; when full the oldest is dropped (and counted).'),
    fileReadAheadFrames: z
      .number()
      .int()
      .min(1)
      .max(100)
      .describe('Files: frames decoded ahead of the consumer; when full, reading pauses (nothing is dropped).'),
    probeSec: z
      .number()
      .min(0.1)
      .max(30)
      .describe(
        'Live inputs: seconds of stream ffmpeg analyses before the first frame (-analyzeduration). Joining a stream mid-way, ffmpeg otherwise waits 5 s; too low may miss the video parameters.',
      ),
    stallTimeoutSec: z
      .number()
      .min(0)
      .describe('Live inputs: restart ffmpeg when no frame arrived for this many seconds (0 = no watchdog); the first frame of a connection gets probeSec more.'),
    ioTimeoutSec: z
      .number()
      .min(0)
      .describe('Network inputs: ffmpeg read/write timeout (-rw_timeout), in seconds (0 = ffmpeg default, which may wait forever).'),
    reconnect: reconnectConfigSchema,
    mediaRoots: z
      .array(z.string().min(1))
      .describe(
        'Folders whose files (and files in their subfolders) operators may attach as sources through the API or dashboard; checked after resolving symlinks. Empty: no local file can be attached that way (sources given on the command line are trusted).',
      ),
    captureDevices: z
      .array(z.string().min(1))
      .describe('Capture devices (e.g. /dev/video0) operators may attach through the API or dashboard; any other device is refused.'),
    allowHosts: z
      .array(z.string().min(1))
      .describe(
        'Network source hosts allowed even in loopback, private or link-local ranges: host names ("encoder.local", "*.example.com"), addresses or CIDR ranges ("10.0.0.0/8"). Also applies to every host an HLS playlist names.',
      ),
    denyHosts: z.array(z.string().min(1)).describe('Network source hosts never allowed (names, addresses or CIDR ranges, as allowHosts); wins over allowHosts.'),
    onlyAllowedHosts: z.boolean().describe('Refuse every network source host that is not on allowHosts (a strict allow-list), public ones included.'),
    listenAnyAddress: z
      .boolean()
      .describe(
        'Let a UDP/RTP or SRT listener source bind every interface (udp://@:5000, srt://0.0.0.0:9000?mode=listener). Off: give the address to listen on (udp://@:5000?localaddr=10.0.0.5).',
      ),
  })
  .describe('Frame grabbing from files, live streams and capture devices (ffmpeg).');

export type IngestConfig = z.infer<typeof ingestConfigSchema>;
export type ReconnectConfig = z.infer<typeof reconnectConfigSchema>;

export const INGEST_DEFAULTS: IngestConfig = {
  ffmpegPath: '',
  fps: 5,
  maxWidth: 1280,
  maxHeight: 720,
  realtime: false,
  loop: false,
  liveBufferFrames: 2,
  fileReadAheadFrames: 4,
  probeSec: 2,
  stallTimeoutSec: 10,
  ioTimeoutSec: 10,
  reconnect: { baseMs: 500, factor: 2, maxMs: 30_000, jitter: 0.2, maxAttempts: 0 },
  mediaRoots: [],
  captureDevices: [],
  allowHosts: [],
  denyHosts: [],
  onlyAllowedHosts: false,
  listenAnyAddress: false,
};

/** Defaults overlaid with a partial config (one level deep for `reconnect`), then validated. */
export function resolveIngestConfig(partial: Partial<Omit<IngestConfig, 'reconnect'>> & { reconnect?: Partial<ReconnectConfig> } = {}): IngestConfig {
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const { reconnect, ...rest } = partial;
  return ingestConfigSchema.parse({
    ...INGEST_DEFAULTS,
    ...defined(rest),
    reconnect: { ...INGEST_DEFAULTS.reconnect, ...defined(reconnect ?? {}) },
  });
}
