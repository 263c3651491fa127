import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ItemRejected } from '../item-rejected.ts';
import { parseSource } from './source-uri.ts';

describe('source URIs', () => {
  it('classifies http(s), s3 and local sources', () => {
    expect(parseSource('https://cdn.example.org/a/b.mp3').kind).toBe('http');
    expect(parseSource('s3://inbox/2026/talk.mp4')).toMatchObject({
      kind: 's3',
      bucket: 'inbox',
      key: '2026/talk.mp4',
    });
    expect(parseSource('/data/talk.wav')).toMatchObject({ kind: 'file', path: '/data/talk.wav' });
    expect(parseSource('./talk.wav')).toMatchObject({ kind: 'file', path: path.resolve('talk.wav') });
    expect(parseSource('file:///data/x.wav')).toMatchObject({ kind: 'file', path: '/data/x.wav' });
  });

  it('keeps credentials and query strings out of what is displayed and recorded', () => {
    const s = parseSource('https://user:hunter2@cdn.example.org/a.mp3?X-Amz-Signature=abc#frag');
    expect(s.display).toBe('https://cdn.example.org/a.mp3');
  });

  it.each([
    ['ftp://example.org/a.mp3', /scheme "ftp:"/],
    ['gopher://example.org/', /scheme "gopher:"/],
    ['data:audio/wav;base64,AAAA', /scheme "data:"/],
    ['javascript:alert(1)', /scheme "javascript:"/],
    ['file://evil.example.org/etc/passwd', /must not name a host/],
    ['s3://Bad_Bucket/key', /valid bucket/],
    ['s3://bucket/', /valid bucket/],
    ['', /empty source/],
    ['https://example.org/\u0000x', /control characters/],
  ])('refuses %j', (raw, message) => {
    let err: unknown;
    try {
      parseSource(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ItemRejected);
    expect((err as ItemRejected).reason).toBe('refused_scheme');
    expect((err as Error).message).toMatch(message);
  });
});
