import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemRejected } from '../item-rejected.ts';
import { parseCidrs } from './address-policy.ts';
import { type DownloadLimits, downloadHttp, type LookupFn } from './http-download.ts';

// A real HTTP server on loopback; the download code runs unmodified against it. Loopback is allowed
// through INGEST_ALLOWED_CIDRS-style policy (127.0.0.1/32) except where a test checks refusals.

const BODY = Buffer.from('RIFF....WAVEfmt '.repeat(4096));
const limits: DownloadLimits = {
  maxBytes: 1_000_000,
  connectTimeoutMs: 2000,
  readTimeoutMs: 500,
  maxRedirects: 3,
};
const allowLoopback = { allowPrivate: false, allowedCidrs: parseCidrs('127.0.0.1/32') };
const closed = { allowPrivate: false, allowedCidrs: [] };

let server: http.Server;
let base: string;
const hits: string[] = [];
const sockets = new Set<net.Socket>();
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-'));
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const u = req.url ?? '/';
    if (u === '/ok.wav') return res.end(BODY);
    if (u === '/empty') return res.end();
    if (u.startsWith('/hop/')) {
      const n = Number(u.split('/')[2]);
      res.writeHead(302, { location: n > 0 ? `/hop/${n - 1}` : '/ok.wav' });
      return res.end();
    }
    if (u === '/to-private') return res.writeHead(302, { location: 'http://10.0.0.1/x.wav' }).end();
    if (u === '/to-metadata')
      return res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (u === '/to-ftp') return res.writeHead(302, { location: 'ftp://example.org/x.mp3' }).end();
    if (u === '/to-evil-name')
      return res.writeHead(302, { location: 'http://internal.example.test/x.wav' }).end();
    if (u === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (u === '/missing') return res.writeHead(404).end('no');
    if (u === '/boom') return res.writeHead(500).end('boom');
    if (u === '/huge-declared') return res.writeHead(200, { 'content-length': '5000000000' }).end();
    if (u === '/huge-chunked') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 3_000_000) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (u === '/stall') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('abc'); // then nothing: the read timeout must fire
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const dest = () => path.join(dir, `f${n++}`);

async function rejection(p: Promise<unknown>): Promise<ItemRejected> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ItemRejected) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** A resolver that answers from a table, like a DNS server would. */
const table =
  (answers: Record<string, string[]>): LookupFn =>
  (hostname, _opts, cb) => {
    const a = answers[hostname];
    if (!a) return cb(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    cb(
      null,
      a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };

describe('http(s) downloads', () => {
  it('streams the body to disk and hashes it', async () => {
    const f = await downloadHttp(new URL(`${base}/ok.wav`), dest(), { limits, policy: allowLoopback });
    expect(f.size).toBe(BODY.length);
    expect(f.sha256).toBe(createHash('sha256').update(BODY).digest('hex'));
    expect(fs.readFileSync(f.path).equals(BODY)).toBe(true);
  });

  it('follows up to the redirect limit, and no further', async () => {
    await expect(
      downloadHttp(new URL(`${base}/hop/2`), dest(), { limits, policy: allowLoopback }),
    ).resolves.toMatchObject({
      size: BODY.length,
    });
    const r = await rejection(
      downloadHttp(new URL(`${base}/loop`), dest(), { limits, policy: allowLoopback }),
    );
    expect([r.reason, r.message]).toEqual(['unreachable', 'more than 3 redirects']);
  });

  it('refuses loopback unless allowed, without sending a request', async () => {
    const before = hits.length;
    const r = await rejection(downloadHttp(new URL(`${base}/ok.wav`), dest(), { limits, policy: closed }));
    expect(r.reason).toBe('refused_address');
    expect(r.message).toContain('loopback');
    expect(hits.length).toBe(before);
  });

  it.each([
    ['/to-private', 'private'],
    ['/to-metadata', 'linkLocal'],
  ])('refuses a redirect from %s to a %s address', async (route, range) => {
    const r = await rejection(
      downloadHttp(new URL(`${base}${route}`), dest(), { limits, policy: allowLoopback }),
    );
    expect(r.reason).toBe('refused_address');
    expect(r.message).toContain(range);
    expect(r.message).toContain('after a redirect');
  });

  it('refuses a redirect to another scheme', async () => {
    const r = await rejection(
      downloadHttp(new URL(`${base}/to-ftp`), dest(), { limits, policy: allowLoopback }),
    );
    expect([r.reason, r.message]).toEqual(['refused_scheme', 'redirected to a ftp: URL']);
  });

  it('refuses a host name whose DNS answer is private, before connecting', async () => {
    const lookup = table({ 'media.example.test': ['10.9.8.7'] });
    const r = await rejection(
      downloadHttp(new URL('http://media.example.test/x.wav'), dest(), {
        limits,
        policy: allowLoopback,
        lookup,
      }),
    );
    expect(r.reason).toBe('refused_address');
    expect(r.message).toBe('media.example.test resolves to a private address');
  });

  it('refuses a host name if any of its DNS answers is private', async () => {
    const lookup = table({ 'mixed.example.test': ['93.184.216.34', '127.0.0.1'] });
    const r = await rejection(
      downloadHttp(new URL('http://mixed.example.test/x.wav'), dest(), { limits, policy: closed, lookup }),
    );
    expect(r.reason).toBe('refused_address');
  });

  it('checks the DNS answer again after a redirect', async () => {
    const lookup = table({ 'internal.example.test': ['192.168.0.10'] });
    const r = await rejection(
      downloadHttp(new URL(`${base}/to-evil-name`), dest(), { limits, policy: allowLoopback, lookup }),
    );
    expect(r.reason).toBe('refused_address');
    expect(r.message).toContain('after a redirect');
  });

  it('connects to the address the resolver returned when it is allowed', async () => {
    const port = new URL(base).port;
    const lookup = table({ 'cdn.example.test': ['127.0.0.1'] });
    const f = await downloadHttp(new URL(`http://cdn.example.test:${port}/ok.wav`), dest(), {
      limits,
      policy: allowLoopback,
      lookup,
    });
    expect(f.size).toBe(BODY.length);
  });

  it('rejects a declared size over the cap without reading the body', async () => {
    const r = await rejection(
      downloadHttp(new URL(`${base}/huge-declared`), dest(), { limits, policy: allowLoopback }),
    );
    expect(r.reason).toBe('too_large');
  });

  it('stops a body that grows past the cap and leaves no file behind', async () => {
    const file = dest();
    const r = await rejection(
      downloadHttp(new URL(`${base}/huge-chunked`), file, { limits, policy: allowLoopback }),
    );
    expect(r.reason).toBe('too_large');
    expect(fs.existsSync(file)).toBe(false);
  });

  it.each([
    ['/missing', 'not_found', 'HTTP 404'],
    ['/boom', 'unreachable', 'HTTP 500'],
    ['/empty', 'empty', 'the source has 0 bytes'],
  ])('maps %s to %s', async (route, reason, message) => {
    const r = await rejection(
      downloadHttp(new URL(`${base}${route}`), dest(), { limits, policy: allowLoopback }),
    );
    expect([r.reason, r.message]).toEqual([reason, message]);
  });

  it('gives up on a server that stops sending (read timeout)', async () => {
    const r = await rejection(
      downloadHttp(new URL(`${base}/stall`), dest(), { limits, policy: allowLoopback }),
    );
    expect(r.reason).toBe('unreachable');
    expect(r.message).toMatch(/timed out/);
  });

  it('reports a closed port as unreachable', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const r = await rejection(
      downloadHttp(new URL(`http://127.0.0.1:${port}/x`), dest(), { limits, policy: allowLoopback }),
    );
    expect([r.reason, r.message]).toEqual(['unreachable', 'connection refused']);
  });
});
