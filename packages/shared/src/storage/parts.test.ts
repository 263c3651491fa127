import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamParts } from './parts.ts';

async function* chunks(sizes: number[]): AsyncGenerator<Buffer> {
  let n = 0;
  for (const size of sizes) {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (n++ * 7) % 251;
    yield b;
  }
}

const joined = async (sizes: number[]) => {
  const all: Buffer[] = [];
  for await (const c of chunks(sizes)) all.push(c);
  return Buffer.concat(all);
};

describe('streamParts', () => {
  it.each([
    { name: 'empty stream', sizes: [], part: 10, parts: [] },
    { name: 'shorter than a part', sizes: [3, 4], part: 10, parts: [7] },
    { name: 'exactly one part', sizes: [4, 6], part: 10, parts: [10] },
    { name: 'a chunk straddling parts', sizes: [7, 7, 7], part: 10, parts: [10, 10, 1] },
    { name: 'one chunk of several parts', sizes: [35], part: 10, parts: [10, 10, 10, 5] },
    { name: 'an exact multiple', sizes: [5, 15, 10], part: 10, parts: [10, 10, 10] },
    { name: 'empty chunks between', sizes: [0, 9, 0, 2, 0], part: 10, parts: [10, 1] },
  ])('$name: parts of $parts bytes, the bytes in order, and their sha256', async ({ sizes, part, parts }) => {
    const s = streamParts(chunks(sizes), part);
    const got: Buffer[] = [];
    for await (const p of s.parts) got.push(p);
    expect(got.map((p) => p.length)).toEqual(parts);
    const whole = await joined(sizes);
    expect(Buffer.concat(got).equals(whole)).toBe(true);
    expect(s.digest()).toEqual({
      sha256: createHash('sha256').update(whole).digest('hex'),
      size: whole.length,
    });
  });

  it('hashes strings as their UTF-8 bytes', async () => {
    const s = streamParts(
      (async function* () {
        yield 'é';
        yield Buffer.from('x');
      })(),
      2,
    );
    const got: Buffer[] = [];
    for await (const p of s.parts) got.push(p);
    expect(Buffer.concat(got).toString('utf8')).toBe('éx');
    expect(got.map((p) => p.length)).toEqual([2, 1]);
  });

  it('has no digest before the stream is read to its end, and passes a source error on', async () => {
    const s = streamParts(
      (async function* () {
        yield Buffer.alloc(4);
        throw new Error('source died');
      })(),
      2,
    );
    const it = s.parts[Symbol.asyncIterator]();
    await it.next();
    expect(() => s.digest()).toThrow(/not been read to its end/);
    await expect(it.next()).resolves.toMatchObject({ done: false });
    await expect(it.next()).rejects.toThrow('source died');
  });

  it('copies a later part into a buffer handed back with reuse, and never into one still held', async () => {
    const s = streamParts(chunks([25]), 10);
    const first = await s.parts.next();
    if (first.done) throw new Error('expected a part');
    const firstBytes = Buffer.from(first.value);
    s.reuse(first.value);
    const second = await s.parts.next();
    if (second.done) throw new Error('expected a part');
    expect(second.value).toBe(first.value);
    const secondBytes = Buffer.from(second.value);
    // The second part's buffer is not handed back: the third must leave it as it is.
    const third = await s.parts.next();
    if (third.done) throw new Error('expected a part');
    expect(second.value.equals(secondBytes)).toBe(true);
    expect(Buffer.concat([firstBytes, secondBytes, third.value]).equals(await joined([25]))).toBe(true);
    expect((await s.parts.next()).done).toBe(true);
  });

  it('refuses a part size that is not a positive integer', () => {
    expect(() => streamParts(chunks([]), 0)).toThrow(RangeError);
    expect(() => streamParts(chunks([]), 1.5)).toThrow(RangeError);
  });
});
