import { describe, expect, it } from 'vitest';
import { parseCidrs, refusalFor } from './address-policy.ts';

const closed = { allowPrivate: false, allowedCidrs: [] };

describe('address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
  ])('refuses %s (%s)', (ip, range) => {
    expect(refusalFor(ip, closed)).toBe(range);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111'])('allows the public address %s', (ip) => {
    expect(refusalFor(ip, closed)).toBeNull();
  });

  it('allows listed CIDRs only', () => {
    const policy = { allowPrivate: false, allowedCidrs: parseCidrs('127.0.0.1/32, 10.1.0.0/16') };
    expect(refusalFor('127.0.0.1', policy)).toBeNull();
    expect(refusalFor('10.1.200.3', policy)).toBeNull();
    expect(refusalFor('127.0.0.2', policy)).toBe('loopback');
    expect(refusalFor('10.2.0.1', policy)).toBe('private');
  });

  it('allows everything when private addresses are explicitly allowed', () => {
    expect(refusalFor('127.0.0.1', { allowPrivate: true, allowedCidrs: [] })).toBeNull();
  });

  it('refuses what is not an address', () => {
    expect(refusalFor('localhost', closed)).toBe('not an IP address');
  });
});
