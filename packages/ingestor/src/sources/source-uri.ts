import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ItemRejected } from '../item-rejected.ts';

/**
 * A media source as given by the user, classified. Anything that is not http(s), s3 or a local path is
 * refused before any I/O. Credentials in URLs never reach logs or the DB (`display`).
 */
export type Source =
  | { kind: 'http'; url: URL; display: string }
  | { kind: 's3'; bucket: string; key: string; display: string }
  | { kind: 'file'; path: string; display: string };

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: see above
const CONTROL_CHARS_G = /[\u0000-\u001f\u007f]/g;
const S3_BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The URL without userinfo, query or fragment (presigned URLs carry signatures in the query). */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** What to record for a source that could not be parsed: redacted like a URL where possible, bounded. */
export function displayOf(raw: string): string {
  const clean = raw.trim().replace(CONTROL_CHARS_G, '?').slice(0, 500);
  try {
    const url = new URL(clean);
    return url.host ? displayUrl(url) : `${url.protocol}${url.pathname.slice(0, 200)}`;
  } catch {
    return clean;
  }
}

export function parseSource(raw: string): Source {
  const trimmed = raw.trim();
  if (trimmed === '' || CONTROL_CHARS.test(trimmed)) {
    throw new ItemRejected('refused_scheme', 'empty source or control characters in it');
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
  // A Windows drive letter or a plain path has no scheme we recognise as such.
  if (!scheme || trimmed.startsWith('/') || trimmed.startsWith('.')) {
    return { kind: 'file', path: path.resolve(trimmed), display: path.resolve(trimmed) };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ItemRejected('refused_scheme', `not a valid URL (scheme ${scheme})`);
  }
  switch (scheme) {
    case 'http':
    case 'https':
      return { kind: 'http', url, display: displayUrl(url) };
    case 's3': {
      const bucket = url.hostname;
      const key = decodeURIComponent(url.pathname.replace(/^\//, ''));
      if (!S3_BUCKET.test(bucket) || key === '' || key.length > 1024) {
        throw new ItemRejected(
          'refused_scheme',
          'expected s3://<bucket>/<key> with a valid bucket name and key',
        );
      }
      return { kind: 's3', bucket, key, display: `s3://${bucket}/${key}` };
    }
    case 'file': {
      if (url.host !== '' && url.host !== 'localhost') {
        throw new ItemRejected('refused_scheme', 'file:// URLs must not name a host');
      }
      const p = fileURLToPath(url);
      return { kind: 'file', path: p, display: p };
    }
    default:
      throw new ItemRejected(
        'refused_scheme',
        `scheme "${scheme}:" is not allowed (use http, https, s3 or a local path)`,
      );
  }
}
