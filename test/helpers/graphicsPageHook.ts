// What the graphics page (web/graphics/main.js) exposes as window.facecast, for the browser tests.
import type { ChannelState } from '../../src/shared/protocol.ts';

export interface GraphicsPageHook {
  state: ChannelState | null;
  /** Connected and the server's fresh state applied. */
  connected: boolean;
  lastMessageAt: number | null;
  /** The stock lower-third template is loaded, so a take needs no fetch. */
  templateReady: boolean;
  onAir: { id: string; card: string; name: string } | null;
}
