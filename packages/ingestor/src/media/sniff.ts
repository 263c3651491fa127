import fsp from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';

/**
 * What the bytes are, independent of the file name: a text file renamed .mp3 is "not audio", while a
 * damaged MP4 (known container, unreadable) is "corrupt". Magic-number detection by `file-type`.
 */
export type Sniffed = { kind: 'media'; mime: string } | { kind: 'other'; mime: string } | { kind: 'unknown' };

const MEDIA_MIME = /^(audio|video)\/|^application\/(ogg|x-matroska|mp4)$/;

export async function sniff(file: string): Promise<Sniffed> {
  const t = await fileTypeFromFile(file);
  if (!t) return { kind: 'unknown' };
  return MEDIA_MIME.test(t.mime) ? { kind: 'media', mime: t.mime } : { kind: 'other', mime: t.mime };
}

/**
 * For RIFF/WAVE files: the byte count the `data` chunk header declares and the bytes actually present.
 * ffmpeg quietly trusts the file size, so a truncated WAV, or a header declaring hours of audio, would
 * otherwise pass as a shorter valid file. Returns null for other files and for the "unknown length"
 * conventions of streamed WAVs (0 or 0xFFFFFFFF).
 */
export async function wavDataSizes(
  file: string,
): Promise<{ declared: number; present: number; byteRate: number } | null> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    if (head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return null;
    let byteRate = 0;
    for (let at = 12; at + 8 <= head.length; ) {
      const id = head.toString('latin1', at, at + 4);
      const len = head.readUInt32LE(at + 4);
      if (id === 'fmt ' && at + 20 <= head.length) byteRate = head.readUInt32LE(at + 16);
      if (id === 'data') {
        if (len === 0 || len === 0xffffffff) return null;
        return { declared: len, present: Math.max(0, size - (at + 8)), byteRate };
      }
      at += 8 + len + (len % 2);
    }
    return null;
  } finally {
    await fh.close();
  }
}
