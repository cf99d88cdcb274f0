// Cuts ffmpeg's raw RGB24 byte stream into frames. The byte stream has no headers: each frame's
// size (and pts) comes from its showinfo line on stderr, in the same order. stderr and stdout
// are separate pipes, so either side may run ahead; bytes wait here until their line arrived.
import type { ShowinfoFrame } from './stderr.ts';

export interface AssembledFrame {
  info: ShowinfoFrame;
  rgb: Uint8Array;
}

export class FrameAssembler {
  private readonly infos: ShowinfoFrame[] = [];
  private readonly chunks: Buffer[] = [];
  private current: { info: ShowinfoFrame; rgb: Uint8Array; filled: number } | null = null;

  constructor(private readonly onFrame: (frame: AssembledFrame) => void) {}

  addInfo(info: ShowinfoFrame): void {
    this.infos.push(info);
    this.drain();
  }

  addData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.drain();
  }

  /** Bytes received that belong to no complete frame yet (a truncated last frame at exit). */
  get pendingBytes(): number {
    return (this.current?.filled ?? 0) + this.chunks.reduce((n, c) => n + c.length, 0);
  }

  private drain(): void {
    while (this.chunks.length > 0) {
      if (!this.current) {
        const info = this.infos.shift();
        if (!info) return; // bytes ahead of their showinfo line: wait for it
        this.current = { info, rgb: new Uint8Array(info.width * info.height * 3), filled: 0 };
      }
      const frame = this.current;
      const chunk = this.chunks[0];
      const take = Math.min(chunk.length, frame.rgb.length - frame.filled);
      frame.rgb.set(chunk.subarray(0, take), frame.filled);
      frame.filled += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
      if (frame.filled === frame.rgb.length) {
        this.current = null;
        this.onFrame({ info: frame.info, rgb: frame.rgb });
      }
    }
  }
}
