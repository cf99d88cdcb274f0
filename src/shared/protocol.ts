// Every message that crosses a thread, process or socket is declared here once: a zod schema
// (validated on arrival) and the TypeScript type inferred from it.
import { z } from 'zod';

export const pointSchema = z.tuple([z.number(), z.number()]).describe('[x, y] in image pixels');
export const boxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('[x, y, width, height] in image pixels');

export const identitySchema = z
  .object({
    id: z.string().describe('player id'),
    name: z.string().describe('display name'),
    confidence: z.number().min(0).max(1).describe('how far the decision clears the open-set thresholds, 0…1'),
  })
  .describe('the recognised player; null means unknown');
export type Identity = z.infer<typeof identitySchema>;

export const decisionSchema = z
  .object({
    candidate: z.object({ id: z.string(), name: z.string() }).describe('the best-ranked player, named or not'),
    accepted: z.boolean(),
    distance: z.number().describe("euclidean distance to the candidate's nearest reference photo"),
    threshold: z.number().optional().describe('the largest distance the open-set rule accepts for that photo'),
    falseAcceptRate: z.number().optional().describe('share of strangers\' faces (per photo) that come this close, from the embedder\'s measured distances'),
    probability: z.number().describe("the classifier's calibrated score for the candidate"),
    margin: z.number().describe('… over the runner-up'),
    runnerUp: z.object({ id: z.string(), name: z.string(), distance: z.number() }).optional().describe('the nearest photo of any other player'),
    heldBackBy: z.array(z.string()).describe('rules that kept the name back: falseAcceptRate, nearest, probability, margin, distance; empty when named'),
    reason: z.string().describe('the same in one line for an operator'),
  })
  .describe('why a face got its name, or why it stayed unknown');
export type Decision = z.infer<typeof decisionSchema>;

export const faceResultSchema = z.object({
  box: boxSchema,
  score: z.number().min(0).max(1).describe('detector confidence'),
  landmarks: z
    .tuple([pointSchema, pointSchema, pointSchema, pointSchema, pointSchema])
    .describe('left eye, right eye, nose tip, left mouth corner, right mouth corner'),
  embedding: z.array(z.number()).length(128).optional().describe('L2-normalised 128-D face embedding'),
  identity: identitySchema.nullable().optional().describe('present once a roster model exists: the player, or null for unknown'),
  decision: decisionSchema.optional().describe('present once a roster model exists: the best candidate and the rule that named it or held it back'),
});
export type FaceResult = z.infer<typeof faceResultSchema>;

/** The answer of `facecast recognize` for one image (one element of the --json array). */
export const imageResultSchema = z.object({
  file: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  backend: z.string().describe('TensorFlow.js backend that ran the models'),
  detector: z.string(),
  ms: z.number().describe('wall time for this image: decode, detect, align, embed'),
  faces: z.array(faceResultSchema),
});
export type ImageResult = z.infer<typeof imageResultSchema>;

/** A file that could not be processed; the others still are. */
export const imageErrorSchema = z.object({
  file: z.string(),
  error: z.string().describe('one line: what is wrong and what to do'),
});
export type ImageError = z.infer<typeof imageErrorSchema>;

// ---------------------------------------------------------------------------------------------
// Live pipeline: frames and what the vision workers answer.

/** Metadata of one sampled video frame (the pixels travel beside it as a transferable buffer). */
export const frameMetaSchema = z.object({
  channel: z.string().describe('which attached source this frame came from'),
  seq: z.number().int().nonnegative().describe('sampled-frame counter of this source, from 0'),
  pts: z.number().describe("the source's presentation time of this frame, seconds"),
  wallMs: z.number().describe('wall-clock time (Date.now()) when the frame arrived from ffmpeg'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type FrameMeta = z.infer<typeof frameMetaSchema>;

/** A sampled frame: RGB, 8 bit, row-major, width × height × 3 bytes. */
export interface Frame extends FrameMeta {
  rgb: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// On air: the overlay WebSocket (server ⇄ graphics pages and operator dashboards).
//
// The server holds the state; a page is a view. On every (re)connect the server first sends
// `state` (everything on air on that channel), so a page never keeps stale graphics. After that:
// `state` again whenever what is on air changes, and `tags` at frame rate for the face-following
// name tags. Every message is JSON, validated with these schemas on arrival.

/** Graphics layers: one graphic per layer at a time. */
export const LAYERS = ['lowerThird', 'nameTag'] as const;
export const layerSchema = z.enum(LAYERS).describe('graphics layer: lowerThird (one at a time) or nameTag (per tracked face)');
export type Layer = z.infer<typeof layerSchema>;

export const overlayModeSchema = z
  .enum(['auto', 'assisted', 'manual'])
  .describe('auto: recognition takes graphics on air; assisted: recognition cues, a person takes; manual: people only');
export type OverlayMode = z.infer<typeof overlayModeSchema>;

export const statItemSchema = z.object({ label: z.string(), value: z.string() }).describe('one stat as shown on air');
export type StatItem = z.infer<typeof statItemSchema>;

/** The player fields a template may show (a template's template.json names the ones it uses). */
export const playerCardSchema = z.object({
  id: z.string(),
  name: z.string(),
  number: z.number().nullable(),
  team: z.string().nullable(),
  teamColor: z.string().nullable().describe('CSS colour, e.g. #c8102e'),
  position: z.string().nullable(),
  stats: z.array(statItemSchema).describe('the stats chosen for this card, in display order'),
});
export type PlayerCard = z.infer<typeof playerCardSchema>;

/** A graphic on air (or cued): which template, for whom, why, and from which frame. */
export const graphicSchema = z.object({
  id: z.string().describe('unique per take; a page restarts its animation only when this changes'),
  layer: layerSchema,
  template: z.string().describe('folder name under overlays/, e.g. lower-third'),
  card: z.enum(['intro', 'stats']).describe('intro: name, number, team; stats: the stats rotation'),
  player: playerCardSchema,
  trackId: z.number().int().nullable().describe('the track that triggered it; null for a manual take'),
  confidence: z.number().min(0).max(1).nullable(),
  pts: z.number().nullable().describe('source pts (s) of the frame that triggered it'),
  takenBy: z.string().describe("'auto', 'operator:<name>', 'api'"),
  takenAt: z.number().describe('server wall clock, ms'),
});
export type Graphic = z.infer<typeof graphicSchema>;

/** A name tag following one tracked face; box in output coordinates, see tagsMessageSchema. */
export const nameTagSchema = z.object({
  trackId: z.number().int(),
  playerId: z.string(),
  name: z.string(),
  number: z.number().nullable(),
  teamColor: z.string().nullable(),
  box: boxSchema.describe('the face, smoothed, in 1920×1080 output pixels'),
  confidence: z.number().min(0).max(1),
});
export type NameTag = z.infer<typeof nameTagSchema>;

export const channelStateSchema = z.object({
  channel: z.string(),
  mode: overlayModeSchema,
  onAir: z.object({ lowerThird: graphicSchema.nullable() }),
  cued: z.array(graphicSchema).describe('graphics recognition (or a person) cued, waiting for a take'),
  nameTags: z.boolean().describe('whether face-following name tags are shown'),
  source: z.object({ url: z.string().nullable(), state: z.string(), detail: z.string().nullable() }),
});
export type ChannelState = z.infer<typeof channelStateSchema>;

// ---------------------------------------------------------------------------------------------
// Operator dashboard (role=operator only). Graphics pages never receive these.

/** A sampled frame for the dashboard preview, a few per second, with what the tracker saw. */
export const previewMessageSchema = z.object({
  type: z.literal('preview'),
  channel: z.string(),
  seq: z.number().int(),
  pts: z.number(),
  cut: z.boolean().describe('a shot cut was detected at this frame'),
  width: z.number().int().describe('of the JPEG; boxes below are in these pixels'),
  height: z.number().int(),
  jpeg: z.string().describe('base64 JPEG of the frame (nothing drawn on it: the page draws boxes)'),
  tracks: z.array(z.object({ id: z.number().int(), box: boxSchema, state: z.string(), identity: identitySchema.nullable() })),
});
export type PreviewMessage = z.infer<typeof previewMessageSchema>;

/** One live track in "on screen now". */
export const trackRowSchema = z.object({
  trackId: z.number().int(),
  playerId: z.string().nullable().describe('the suggested player, null = unknown'),
  name: z.string().nullable(),
  confidence: z.number().min(0).max(1).nullable(),
  onScreenMs: z.number().describe('since the track started'),
  state: z.string().describe('tracker state: tentative, confirmed, lost'),
  onAir: z.enum(['cued', 'on-air', 'cooldown']).nullable(),
  thumb: z.string().nullable().describe('base64 JPEG face crop (about 96 px), refreshed now and then'),
  candidate: z
    .object({ name: z.string(), distance: z.number(), threshold: z.number().nullable(), heldBackBy: z.array(z.string()) })
    .nullable()
    .optional()
    .describe("the best candidate of the track's last embedded face and the rules that held it back (empty when it passed)"),
  why: z.string().nullable().optional().describe('the decision on that face in one line'),
});
export type TrackRow = z.infer<typeof trackRowSchema>;

export const tracksMessageSchema = z.object({ type: z.literal('tracks'), channel: z.string(), pts: z.number(), tracks: z.array(trackRowSchema) });
export type TracksMessage = z.infer<typeof tracksMessageSchema>;

export const healthMessageSchema = z.object({
  type: z.literal('health'),
  backend: z.string(),
  device: z.string(),
  workers: z.number().int(),
  channels: z.array(
    z.object({
      id: z.string(),
      source: z.object({ url: z.string().nullable(), state: z.string(), detail: z.string().nullable() }),
      analysedFps: z.number(),
      dropped: z.number().int(),
      latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
      recommendedDelayMs: z.number().nullable(),
      advice: z.string(),
      outputs: z.object({ graphics: z.number().int(), operator: z.number().int() }),
    }),
  ),
});
export type HealthMessage = z.infer<typeof healthMessageSchema>;

export const trainingMessageSchema = z.object({
  type: z.literal('training'),
  state: z.enum(['running', 'done', 'failed']),
  progress: z.number().min(0).max(1).nullable(),
  message: z.string(),
});
export type TrainingMessage = z.infer<typeof trainingMessageSchema>;

/** Server → page. */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), channel: z.string(), role: z.enum(['graphics', 'operator']), serverTime: z.number(), version: z.string() }),
  z.object({ type: z.literal('state'), state: channelStateSchema, serverTime: z.number() }),
  z.object({
    type: z.literal('tags'),
    channel: z.string(),
    pts: z.number().describe('source pts (s) of the analysed frame'),
    frameWallMs: z.number().describe('when that frame arrived from ffmpeg'),
    sentAt: z.number().describe('server wall clock when sent'),
    tags: z.array(nameTagSchema),
  }),
  z.object({ type: z.literal('pong'), t: z.number(), serverTime: z.number() }),
  // Operator-only messages (role=operator): the dashboard's live views.
  previewMessageSchema,
  tracksMessageSchema,
  healthMessageSchema,
  trainingMessageSchema,
  z.object({ type: z.literal('roster'), change: z.enum(['created', 'updated', 'stats', 'enrolled', 'removed', 'relabelled']), playerId: z.string().nullable() }).describe('refetch /api/players'),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string().describe('what was wrong and what to do') }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Page → server. Operator commands need the operator role (API token); graphics pages may only ping. */
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), t: z.number() }),
  z.object({ type: z.literal('take'), playerId: z.string().optional(), cueId: z.string().optional(), card: z.enum(['intro', 'stats']).optional() }),
  z.object({ type: z.literal('clear'), layer: layerSchema.optional().describe('omitted: clear all') }),
  z.object({ type: z.literal('cue'), playerId: z.string() }),
  z.object({ type: z.literal('mode'), mode: overlayModeSchema }),
  z.object({ type: z.literal('nameTags'), on: z.boolean() }),
  z.object({ type: z.literal('takeNext') }).describe('take the first cued graphic'),
  z
    .object({ type: z.literal('relabel'), trackId: z.number().int(), playerId: z.string().nullable().describe('null: "not a player" (its faces become negatives)') })
    .describe('correct a track: its faces go to that player (or the negatives) and the classifier retrains in the background'),
  z.object({ type: z.literal('attach'), url: z.string().min(1).max(4096), loop: z.boolean().optional() }),
  z.object({ type: z.literal('detach') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** Largest WebSocket message a client may send; larger ones get an error reply. */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
