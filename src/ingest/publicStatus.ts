// The source status as the API, the dashboard and the graphics pages see it: a category, not
// ffmpeg's words. ffmpeg's exact line ("Connection refused", "Invalid data", "404") would tell an
// API user which ports are open and which files exist; it stays in the server log.
import type { IngestErrorKind, SourceStatus } from './types.ts';

const CATEGORY: Record<IngestErrorKind, string> = {
  refused: 'cannot connect',
  unreachable: 'cannot connect',
  timeout: 'cannot connect',
  auth: 'access denied: check the credentials or stream key in the URL',
  'not-found': 'no playable video',
  'invalid-data': 'no playable video',
  'no-video': 'no playable video',
  'unsupported-codec': 'no playable video',
  permission: 'no playable video',
  stalled: 'stalled: no frames',
  protocol: 'refused by the source policy',
  device: 'capture device unavailable',
  busy: 'address or device in use',
  ffmpeg: 'ffmpeg cannot read this input',
  killed: 'reader stopped unexpectedly',
  unknown: 'failed',
};

const SEE_LOG = 'details in the server log';

/** One line per status for people, with no detail of what ffmpeg saw. */
export function publicStatusText(s: SourceStatus): string | null {
  switch (s.state) {
    case 'connecting':
      return s.attempt > 0 ? `attempt ${s.attempt + 1}` : null;
    case 'playing':
      return `${s.width}×${s.height}`;
    case 'reconnecting':
      return `attempt ${s.attempt} in ${Math.round(s.delayMs / 100) / 10} s: ${s.kind ? CATEGORY[s.kind] : 'the stream ended'} (${SEE_LOG})`;
    case 'ended':
      return s.reason;
    case 'error':
      return `${CATEGORY[s.kind]}${s.fatal ? ', gave up' : ''} (${SEE_LOG})`;
    default:
      return null;
  }
}
