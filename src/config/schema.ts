// The configuration contract: every field validated and described. Defaults live in
// config/default.json; a user file (--config) and FACECAST_* environment variables override them.
import { z } from 'zod';
import { BACKEND_CHOICES } from '../vision/backend.ts';
import { trackingConfigSchema } from '../tracking/options.ts';
import { ingestConfigSchema } from '../ingest/config.ts';
import { overlayConfigSchema } from '../overlay/config.ts';

export const mtcnnConfigSchema = z
  .object({
    minFaceSize: z.number().int().min(8).describe('Smallest face side in pixels the image pyramid looks for; smaller is slower.'),
    scaleFactor: z.number().gt(0.1).lt(1).describe('Ratio between pyramid levels (0.709 in the MTCNN paper).'),
    thresholds: z
      .tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)])
      .describe('Face score thresholds for P-Net, R-Net and O-Net.'),
    maxInputSide: z
      .number()
      .int()
      .min(0)
      .describe('Downscale images whose longer side exceeds this before detection (0 = never); boxes are mapped back.'),
  })
  .describe('MTCNN cascade (P-Net → R-Net → O-Net) parameters.');

export const ssdConfigSchema = z
  .object({
    minConfidence: z.number().min(0).max(1).describe('Minimum SSD face score to keep a detection.'),
    iouThreshold: z.number().min(0).max(1).describe('Non-maximum suppression overlap above which the weaker box is dropped.'),
    maxResults: z.number().int().min(1).describe('Most faces reported per image.'),
  })
  .describe('SSD MobileNetV1 face detector parameters; its faces get 5 points from the 68-point landmark net.');

export const visionConfigSchema = z
  .object({
    backend: z
      .enum(BACKEND_CHOICES)
      .describe('TensorFlow.js backend: auto tries tensorflow-gpu, tensorflow, wasm, cpu in that order; a named one must load.'),
    detector: z.enum(['mtcnn', 'ssd']).describe('Face detector: mtcnn (5 landmarks from O-Net) or ssd (5 points from the 68-point net).'),
    alignment: z
      .enum(['landmarks68', 'similarity', 'box'])
      .describe(
        "How faces are cut for the embedder: landmarks68 = similarity warp fitted on the 68-point net's 41 inner points to dlib's mean face; similarity = the same warp from the detector's 5 landmarks; box = face-api's unrotated square crop.",
      ),
    maxImagePixels: z
      .number()
      .int()
      .min(1)
      .describe('Images with more pixels (width × height) than this are refused before decoding (decompression-bomb guard; HTTP 413).'),
    maxTensorPixels: z
      .number()
      .int()
      .min(64 * 64)
      .describe(
        'Most pixels the models see of one image (12 bytes a pixel as a tensor): a bigger image is downscaled before detection, and the no-face retry pads a copy that still fits; faces are reported in the original pixels.',
      ),
    padRetryFraction: z
      .number()
      .min(0)
      .max(2)
      .describe('When no face is found, retry on a copy padded by this fraction of its larger side (tight face crops); 0 = off.'),
    embedBatchSize: z.number().int().min(1).max(256).describe('Most faces embedded in one forward pass.'),
    flipAverage: z
      .boolean()
      .describe('Embed each face and its mirror image and use the normalised mean (test-time augmentation; doubles embedding cost).'),
    mtcnn: mtcnnConfigSchema,
    ssd: ssdConfigSchema,
    pool: z
      .object({
        workers: z.number().int().min(0).max(64).describe('Vision worker threads; 0 = one per core minus one for the main loop (at least 1).'),
        maxQueue: z.number().int().min(1).max(256).describe('Frames waiting for a worker; a live source then drops its oldest, a file source waits.'),
        keepFrames: z.number().int().min(1).max(16).describe('Frames each worker keeps after detection so the tracker can ask for embeddings of chosen faces.'),
        detectMaxSide: z
          .number()
          .int()
          .min(0)
          .describe('Detect on a copy downscaled to this longer side (0 = full size); faces are still aligned from the full frame.'),
        jobTimeoutMs: z
          .number()
          .int()
          .min(0)
          .describe('A worker that has not answered a frame within this many ms is taken as hung: it is terminated and replaced, and the frame is lost (0 = no limit).'),
      })
      .describe('The vision worker pool of the live pipeline.'),
    requests: z
      .object({
        workers: z
          .number()
          .int()
          .min(1)
          .max(16)
          .describe('Vision worker threads for API and dashboard images (recognize, verify, photo enrolment), apart from the live pool so an upload never holds up a channel.'),
        maxQueue: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .describe('Images waiting for a request worker; when full, a new request gets 503 with Retry-After.'),
        jobTimeoutMs: z
          .number()
          .int()
          .min(0)
          .describe('A request worker that has not answered one image within this many ms is terminated and replaced; the request gets 503 (0 = no limit).'),
      })
      .describe('The vision workers of HTTP requests: images are decoded and analysed there, never on the main thread.'),
  })
  .describe('Face detection, alignment and embedding.');

export const enrolmentConfigSchema = z
  .object({
    augment: z.boolean().describe('Store augmented views (flip, crops, affine, colour, low resolution, blur, JPEG) of each enrolled photo.'),
    views: z.number().int().min(0).max(64).describe('Augmented views per enrolled photo.'),
  })
  .describe('How players are enrolled from photos.');

export const recognitionConfigSchema = z
  .object({
    verifyThreshold: z
      .number()
      .positive()
      .describe('1:1 verification: two faces closer than this euclidean distance are the same person (picked on LFW View 1 DevTrain).'),
    builtinNegatives: z.boolean().describe('Train with the faces of the face-api demo photos as known strangers.'),
    openSet: z
      .object({
        falseAcceptRate: z
          .number()
          .gt(0)
          .lt(1)
          .describe(
            'Target share of strangers\' faces given a name, per face, for the whole roster. The distance threshold follows from the embedder\'s measured impostor distances (models/distance-stats.json) and the number of reference photos (a stranger gets one chance per photo).',
          ),
        fittedGatesMinPhotos: z
          .number()
          .int()
          .min(1)
          .describe('The probability/margin/distance gates fitted on the roster\'s own held-out trials tighten the rule only when every player has at least this many photos.'),
      })
      .describe('The open-set rule: when a face may get a name at all.'),
  })
  .describe('Recognition against the roster.');

export const serverConfigSchema = z
  .object({
    host: z.string().min(1).describe('Address the HTTP server listens on (0.0.0.0 = every interface, for OBS on another machine).'),
    port: z.number().int().min(0).max(65535).describe('HTTP port of `facecast serve` (0 = any free port).'),
    apiToken: z
      .string()
      .describe('Bearer token for /api (FACECAST_API_TOKEN overrides). Empty: a random token is generated and printed at start; refused in production.'),
    outputKey: z
      .string()
      .describe(
        'Key the graphics output pages need (?key=…), separate from the API token because OBS and CasparCG cannot log in (FACECAST_OUTPUT_KEY overrides). Empty: a random key is generated and printed at start; refused in production.',
      ),
    production: z.boolean().describe('Production mode (also set by NODE_ENV=production): no generated tokens, no stack traces in errors.'),
    maxUploadBytes: z.number().int().min(1024).describe('Largest accepted upload (image or multipart body) in bytes.'),
    csvImportMaxRows: z
      .number()
      .int()
      .min(1)
      .describe('Most data rows a roster.csv sent to POST /api/players/import may have (the body is also capped at 1 MB); a larger file is refused whole with 413.'),
    operatorPassword: z
      .string()
      .describe(
        'Password of the operator dashboard (/login; FACECAST_OPERATOR_PASSWORD overrides). Hashed with scrypt at start and the plain value dropped. Empty (and no operatorPasswordHash): a random one is generated and printed at start; refused in production.',
      ),
    operatorPasswordHash: z
      .string()
      .describe('The dashboard password pre-hashed as scrypt$N$r$p$salt$hash (salt and hash base64), so the config file holds no plain password; used when operatorPassword is empty.'),
    publicUrl: z
      .union([z.literal(''), z.string().url().regex(/^https?:\/\//, 'must start with http:// or https://')])
      .describe(
        'Base URL people and OBS reach this server at (e.g. https://graphics.example.com), used for the page links of GET /api/outputs. Empty: the address the server listens on. Never taken from the request\'s Host header.',
      ),
    channels: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/))
      .max(16)
      .describe(
        'Channels that exist from the start, so output pages (OBS scenes) can connect before a source is attached. The graphics key opens only existing channels; operators create others by attaching a source.',
      ),
    frameAncestors: z
      .array(z.string().min(1).regex(/^[^;,\s]+$/, 'one source per entry, without ; , or spaces'))
      .describe(
        "Who may show /graphics and the dashboard in a frame (CSP frame-ancestors sources, e.g. \"http://vmix-host:8088\"). /graphics always allows 'self' (the dashboard's program view); empty keeps the dashboard unframeable.",
      ),
    maxWebSockets: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .describe('Most WebSocket connections (graphics pages and dashboards together); more are refused with 503 and a Retry-After.'),
  })
  .describe('The HTTP API and overlay server.');

export const dashboardConfigSchema = z
  .object({
    previewFps: z.number().min(0).max(10).describe('Live preview JPEGs per second sent to each connected dashboard (0 = no preview); only encoded while an operator is connected.'),
    previewWidth: z.number().int().min(64).max(1920).describe('Width in pixels of the preview JPEG (never upscaled).'),
    previewQuality: z.number().int().min(1).max(100).describe('JPEG quality of the preview and the face thumbnails.'),
    tracksIntervalMs: z.number().int().min(100).describe('How often the "on screen now" rows (one per live track) are sent.'),
    thumbSize: z.number().int().min(16).max(512).describe('Side in pixels of the face thumbnail of each live track.'),
    thumbRefreshMs: z.number().int().min(0).describe('A track\'s face thumbnail is cut again from the preview frame at most this often.'),
    healthIntervalMs: z.number().int().min(250).describe('How often the health message (backend, fps, drops, latency, delay advice, outputs) is sent.'),
    trackEmbeddings: z.number().int().min(1).max(100).describe('Recent face embeddings remembered per live track, for corrections (relabel) that teach the roster.'),
    trackGraceMs: z.number().int().min(0).describe('How long an ended track\'s embeddings are kept, so a relabel just after the face left the shot still works.'),
  })
  .describe('The operator dashboard (/dashboard): live preview, on-screen tracks, health, corrections.');

export const configSchema = z
  .object({
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).describe('Least severe log level written to stderr.'),
    dataDir: z.string().min(1).describe('Where facecast keeps its database and trained models (FACECAST_DATA overrides).'),
    vision: visionConfigSchema,
    enrolment: enrolmentConfigSchema,
    recognition: recognitionConfigSchema,
    server: serverConfigSchema,
    tracking: trackingConfigSchema,
    ingest: ingestConfigSchema,
    overlay: overlayConfigSchema,
    dashboard: dashboardConfigSchema,
  })
  .describe('facecast configuration.');

export type Config = z.infer<typeof configSchema>;
export type VisionConfig = z.infer<typeof visionConfigSchema>;
export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type DashboardConfig = z.infer<typeof dashboardConfigSchema>;
export type MtcnnConfig = z.infer<typeof mtcnnConfigSchema>;
export type SsdConfig = z.infer<typeof ssdConfigSchema>;
