import { createHash } from 'node:crypto';

/**
 * Cuts a stream into upload parts of exactly `partSize` bytes (the last one shorter, never empty) and
 * hashes it on the way. Each part is one buffer the chunks are copied into as they arrive (so a chunk is
 * released as soon as it is copied, and a part being filled never costs more than its own size). A
 * yielded part is the consumer's until it hands the buffer back with `reuse()`, which the next part is
 * then copied into instead of a new allocation. `digest()` gives the sha256 and size of everything read,
 * once the generator is done.
 */
export function streamParts(source: AsyncIterable<Buffer | string>, partSize: number) {
  if (!Number.isInteger(partSize) || partSize <= 0)
    throw new RangeError(`part size must be a positive integer, got ${partSize}`);
  const hash = createHash('sha256');
  let size = 0;
  let digest: { sha256: string; size: number } | undefined;
  const free: Buffer[] = [];
  async function* parts(): AsyncGenerator<Buffer> {
    let part: Buffer | undefined;
    let filled = 0;
    for await (const value of source) {
      let chunk = typeof value === 'string' ? Buffer.from(value) : value;
      hash.update(chunk);
      size += chunk.length;
      while (chunk.length > 0) {
        part ??= free.pop() ?? Buffer.allocUnsafe(partSize);
        const n = chunk.copy(part, filled, 0, Math.min(chunk.length, partSize - filled));
        filled += n;
        chunk = chunk.subarray(n);
        if (filled === partSize) {
          yield part;
          part = undefined;
          filled = 0;
        }
      }
    }
    digest = { sha256: hash.digest('hex'), size };
    if (part && filled > 0) yield part.subarray(0, filled);
  }
  return {
    parts: parts(),
    /** Hands a full part's buffer back (the consumer is done with it) for a later part to be copied into. */
    reuse(buf: Buffer): void {
      if (buf.length === partSize) free.push(buf);
    },
    /** The sha256 and size of the whole stream; only once every part has been read. */
    digest(): { sha256: string; size: number } {
      if (!digest) throw new Error('the stream has not been read to its end');
      return digest;
    },
  };
}
