import fsp from 'node:fs/promises';

/**
 * Loudness of a 16 kHz mono s16le WAV over time windows, read in chunks (memory stays flat for long
 * files). Used to tell whether whisper put text over audio with no speech energy in it.
 */
export interface EnergyProfile {
  windowMs: number;
  /** RMS level per window in dBFS (-Infinity for digital silence). */
  dbfs: number[];
}

export async function energyProfile(wavPath: string, windowMs = 100): Promise<EnergyProfile> {
  const fh = await fsp.open(wavPath, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    let dataAt = -1;
    for (let at = 12; at + 8 <= bytesRead; ) {
      const id = head.toString('latin1', at, at + 4);
      const len = head.readUInt32LE(at + 4);
      if (id === 'data') {
        dataAt = at + 8;
        break;
      }
      at += 8 + len + (len % 2);
    }
    if (dataAt < 0) throw new Error(`${wavPath}: no data chunk`);
    const samplesPerWindow = Math.round((16000 * windowMs) / 1000);
    const dbfs: number[] = [];
    const buf = Buffer.alloc(samplesPerWindow * 2 * 64);
    let pos = dataAt;
    let sum = 0;
    let n = 0;
    for (;;) {
      const { bytesRead: got } = await fh.read(buf, 0, buf.length, pos);
      if (got < 2) break;
      pos += got;
      // A typed view over the chunk rather than readInt16LE per sample: long files have millions of samples.
      const samples = new Int16Array(buf.buffer, buf.byteOffset, got >> 1);
      for (let i = 0; i < samples.length; i++) {
        const s = (samples[i] ?? 0) / 32768;
        sum += s * s;
        if (++n === samplesPerWindow) {
          dbfs.push(10 * Math.log10(sum / n));
          sum = 0;
          n = 0;
        }
      }
    }
    if (n > 0) dbfs.push(10 * Math.log10(sum / n));
    return { windowMs, dbfs };
  } finally {
    await fh.close();
  }
}

/** The loudest window between two times, in dBFS. */
export function peakBetween(profile: EnergyProfile, startMs: number, endMs: number): number {
  const from = Math.floor(startMs / profile.windowMs);
  const to = Math.max(from + 1, Math.ceil(endMs / profile.windowMs));
  let peak = Number.NEGATIVE_INFINITY;
  for (let i = from; i < to && i < profile.dbfs.length; i++) peak = Math.max(peak, profile.dbfs[i] ?? peak);
  return peak;
}
