import { createHash } from 'node:crypto';

/**
 * Cuts a stream into upload parts of exactly `partSize` bytes (the last one shorter, never empty) and
 * hashes it on the way: each part is one `Buffer.concat` of the chunks it spans (a chunk that straddles a
 * boundary is split without copying), and nothing beyond the part being filled is held. `digest()` gives
 * the sha256 and size of everything read, once the generator is done.
 */
export function streamParts(source: AsyncIterable<Buffer | string>, partSize: number) {
  if (!Number.isInteger(partSize) || partSize <= 0)
    throw new RangeError(`part size must be a positive integer, got ${partSize}`);
  const hash = createHash('sha256');
  let size = 0;
  let digest: { sha256: string; size: number } | undefined;
  async function* parts(): AsyncGenerator<Buffer> {
    let held: Buffer[] = [];
    let heldBytes = 0;
    for await (const value of source) {
      let chunk = typeof value === 'string' ? Buffer.from(value) : value;
      hash.update(chunk);
      size += chunk.length;
      while (heldBytes + chunk.length >= partSize) {
        const take = partSize - heldBytes;
        held.push(chunk.subarray(0, take));
        chunk = chunk.subarray(take);
        yield Buffer.concat(held, partSize);
        held = [];
        heldBytes = 0;
      }
      if (chunk.length > 0) {
        held.push(chunk);
        heldBytes += chunk.length;
      }
    }
    if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
    digest = { sha256: hash.digest('hex'), size };
  }
  return {
    parts: parts(),
    /** The sha256 and size of the whole stream; only once every part has been read. */
    digest(): { sha256: string; size: number } {
      if (!digest) throw new Error('the stream has not been read to its end');
      return digest;
    },
  };
}
