import dns from 'node:dns';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hashingTap } from '@pronielts/shared/storage';
import { Agent, type Dispatcher, request } from 'undici';
import { ItemRejected } from '../item-rejected.ts';
import { type AddressPolicy, refusalFor } from './address-policy.ts';

export interface DownloadLimits {
  maxBytes: number;
  connectTimeoutMs: number;
  /** Longest silence while waiting for headers or between body chunks. */
  readTimeoutMs: number;
  maxRedirects: number;
}

export interface FetchedFile {
  path: string;
  size: number;
  sha256: string;
}

export type LookupFn = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Resolves a host name and refuses the connection if ANY answer is a refused address: the check runs on
 * the addresses actually used to connect, so DNS answers pointing inside (rebinding) are caught too.
 */
function guardedLookup(policy: AddressPolicy, resolve: LookupFn) {
  return (
    hostname: string,
    options: dns.LookupOptions,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | dns.LookupAddress[],
      family?: number,
    ) => void,
  ) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const why = refusalFor(a.address, policy);
        if (why) {
          return callback(
            new ItemRejected('refused_address', `${hostname} resolves to a ${why} address`),
            [],
          );
        }
      }
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}

function findRejection(err: unknown, depth = 0): ItemRejected | undefined {
  if (err instanceof ItemRejected) return err;
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const r = findRejection(e, depth + 1);
      if (r) return r;
    }
  }
  return 'cause' in err ? findRejection(err.cause, depth + 1) : undefined;
}

function describeNetworkError(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect timed out';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'read timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    default:
      return code ? `network error (${code})` : `network error (${(err as Error).message})`;
  }
}

/**
 * Streams an http(s) URL to `dest`, hashing as it goes. Redirects are followed by hand so that every hop
 * is checked again (scheme and address); size, connect and read limits apply throughout. Failures are
 * ItemRejected with reason refused_scheme / refused_address / not_found / too_large / empty / unreachable.
 */
export async function downloadHttp(
  start: URL,
  dest: string,
  opts: { limits: DownloadLimits; policy: AddressPolicy; signal?: AbortSignal; lookup?: LookupFn },
): Promise<FetchedFile> {
  const { limits, policy } = opts;
  const agent = new Agent({
    connect: {
      timeout: limits.connectTimeoutMs,
      lookup: guardedLookup(policy, opts.lookup ?? (dns.lookup as unknown as LookupFn)) as never,
    },
    headersTimeout: limits.readTimeoutMs,
    bodyTimeout: limits.readTimeoutMs,
  });
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ItemRejected('refused_scheme', `redirected to a ${url.protocol} URL`);
      }
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (net.isIP(host)) {
        const why = refusalFor(host, policy);
        if (why)
          throw new ItemRejected(
            'refused_address',
            `${why} address ${hop > 0 ? 'after a redirect' : ''}`.trim(),
          );
      }
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          dispatcher: agent,
          method: 'GET',
          headers: { 'user-agent': 'pronielts-ingestor', accept: 'audio/*, video/*, */*;q=0.5' },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (err) {
        const rejection = findRejection(err);
        if (rejection) {
          if (hop > 0) rejection.message = `${rejection.message} (after a redirect)`;
          throw rejection;
        }
        if (opts.signal?.aborted) throw err;
        throw new ItemRejected('unreachable', describeNetworkError(err));
      }
      if (REDIRECTS.has(res.statusCode)) {
        await res.body.dump();
        const location = res.headers.location;
        if (typeof location !== 'string')
          throw new ItemRejected('unreachable', `HTTP ${res.statusCode} without Location`);
        if (hop >= limits.maxRedirects)
          throw new ItemRejected('unreachable', `more than ${limits.maxRedirects} redirects`);
        url = new URL(location, url);
        continue;
      }
      if (res.statusCode === 404 || res.statusCode === 410) {
        await res.body.dump();
        throw new ItemRejected('not_found', `HTTP ${res.statusCode}`);
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump();
        throw new ItemRejected('unreachable', `HTTP ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        res.body.destroy();
        throw new ItemRejected('too_large', `declares ${declared} bytes, limit ${limits.maxBytes}`);
      }
      return await writeCapped(res.body, dest, limits.maxBytes, opts.signal);
    }
  } finally {
    await agent.close().catch(() => {});
  }
}

/** A pass-through that fails with too_large once more than `maxBytes` went through. */
function byteCap(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) cb(new ItemRejected('too_large', `more than ${maxBytes} bytes`));
      else cb(null, chunk);
    },
  });
}

/** Streams `body` into `dest` (created exclusively), hashing and enforcing the byte cap. */
export async function writeCapped(
  body: NodeJS.ReadableStream,
  dest: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<FetchedFile> {
  const tap = hashingTap();
  try {
    const out = fs.createWriteStream(dest, { flags: 'wx' });
    if (signal) await pipeline(body, byteCap(maxBytes), tap, out, { signal });
    else await pipeline(body, byteCap(maxBytes), tap, out);
  } catch (err) {
    await fsp.rm(dest, { force: true });
    if (err instanceof ItemRejected) throw err;
    if (signal?.aborted) throw err;
    throw new ItemRejected('unreachable', `download interrupted: ${describeNetworkError(err)}`);
  }
  const { size, sha256 } = tap.digest();
  if (size === 0) {
    await fsp.rm(dest, { force: true });
    throw new ItemRejected('empty', 'the source has 0 bytes');
  }
  return { path: dest, size, sha256 };
}
