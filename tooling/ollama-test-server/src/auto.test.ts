import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { instanceOf } from './auto.ts';
import { compilePattern, samplesForPattern, UnsupportedPattern } from './pattern.ts';

const TreeNode: z.ZodType = z.object({
  name: z.string(),
  get children() {
    return z.array(TreeNode);
  },
});
const Shared = z.object({ v: z.number().min(1) }).meta({ id: 'SharedForAutoTest' });

/** Schemas of the kinds the project's LLM stages send as `format`, and zod's other JSON-schema shapes. */
const SCHEMAS: Record<string, z.ZodType> = {
  'an IELTS-like classification': z.object({
    part: z.enum(['1', '2', '3']),
    band: z.number().min(0).max(9).multipleOf(0.5),
    questions: z
      .array(
        z.object({
          text: z.string().min(5).max(400),
          tags: z.array(z.string()).max(3),
          start: z.number().nonnegative(),
          confidence: z.number().gt(0).lte(1),
        }),
      )
      .min(1)
      .max(20),
    notes: z.string().nullable(),
    optional: z.string().optional(),
    kind: z.literal('classification'),
  }),
  'string bounds': z.object({ a: z.string().min(3).max(5), b: z.string().length(7), c: z.string().max(2) }),
  'integers and multiples': z.object({
    a: z.number().int().positive().multipleOf(5),
    b: z.number().int().negative(),
    c: z.number().multipleOf(0.1).min(0.25),
    d: z.number().gt(1.5).lt(2),
    e: z.int(),
    f: z.number().int().min(10).max(12),
  }),
  'string formats': z.object({
    email: z.email(),
    uuid: z.uuid(),
    guid: z.guid(),
    datetime: z.iso.datetime(),
    date: z.iso.date(),
    time: z.iso.time(),
    duration: z.iso.duration(),
    url: z.url(),
    ipv4: z.ipv4(),
    ipv6: z.ipv6(),
    cidrv4: z.cidrv4(),
    nanoid: z.nanoid(),
    cuid: z.cuid(),
    cuid2: z.cuid2(),
    ulid: z.ulid(),
    xid: z.xid(),
    ksuid: z.ksuid(),
    e164: z.e164(),
    base64: z.base64(),
    base64url: z.base64url(),
    emoji: z.emoji(),
    hex: z.hex(),
    hostname: z.hostname(),
    mac: z.mac(),
  }),
  'string patterns': z.object({
    regex: z.string().regex(/^[A-Z]{2}-\d{3}$/),
    affixes: z.string().startsWith('ab').endsWith('yz'),
    includes: z.string().includes('mid').min(10),
    lower: z.string().lowercase(),
    upper: z.string().uppercase().min(2),
    template: z.templateLiteral(['id-', z.number()]),
  }),
  tuples: z.object({ exact: z.tuple([z.string(), z.number()]), rest: z.tuple([z.string()], z.number()) }),
  records: z.object({
    open: z.record(z.string(), z.number()),
    exhaustive: z.record(z.enum(['a', 'b']), z.boolean()),
  }),
  unions: z.object({
    primitive: z.union([z.string(), z.number()]),
    discriminated: z.discriminatedUnion('t', [
      z.object({ t: z.literal('a'), x: z.string() }),
      z.object({ t: z.literal('b') }),
    ]),
    nullableObject: z.object({ a: z.string() }).nullable(),
  }),
  intersection: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() })),
  'recursive $ref': TreeNode,
  '$defs via meta id': z.object({ x: Shared, y: Shared }),
  'array length': z.object({
    exact: z.array(z.number()).length(3),
    bounded: z.array(z.boolean()).min(2).max(4),
  }),
  defaults: z.object({ a: z.string().default('q'), b: z.number().int().default(3) }),
  'top-level array': z.array(z.object({ id: z.number().int() })).min(2),
};

describe('instanceOf', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`satisfies the zod schema it came from: ${name}`, () => {
      const value = instanceOf(z.toJSONSchema(schema));
      const result = schema.safeParse(value);
      expect(result.error?.issues ?? []).toEqual([]);
      expect(instanceOf(z.toJSONSchema(schema))).toEqual(value); // deterministic
    });
  }

  it('is minimal: required properties only, enum/const first, minItems (or one item), 0, false, "text"', () => {
    const schema = z.object({
      part: z.enum(['speaking', 'listening']),
      n: z.number(),
      ok: z.boolean(),
      s: z.string(),
      list: z.array(z.string()),
      pair: z.array(z.number()).min(2),
      optional: z.string().optional(),
    });
    expect(instanceOf(z.toJSONSchema(schema))).toEqual({
      part: 'speaking',
      n: 0,
      ok: false,
      s: 'text',
      list: ['text'],
      pair: [0, 0],
    });
  });

  it('honours uniqueItems with distinct items', () => {
    expect(
      instanceOf({ type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 3, uniqueItems: true }),
    ).toEqual(['a', 'b', 'c']);
    const ints = instanceOf({
      type: 'array',
      items: { type: 'integer', minimum: 3 },
      minItems: 3,
      uniqueItems: true,
    });
    expect(ints).toEqual([3, 4, 5]);
    const objects = instanceOf({
      type: 'array',
      items: { type: 'object', properties: { s: { type: 'string', maxLength: 1 } }, required: ['s'] },
      minItems: 3,
      uniqueItems: true,
    }) as Array<{ s: string }>;
    expect(new Set(objects.map((o) => o.s)).size).toBe(3);
    expect(objects.every((o) => o.s.length === 1)).toBe(true);
  });

  it('understands hand-written schemas: type lists, $ref siblings, draft-07 tuples and boolean bounds', () => {
    expect(instanceOf({ type: ['null', 'integer'], minimum: 2 })).toBe(2);
    expect(
      instanceOf({
        $defs: { Name: { type: 'string', minLength: 6 } },
        type: 'object',
        properties: { n: { $ref: '#/$defs/Name', maxLength: 6 } },
        required: ['n'],
      }),
    ).toEqual({ n: 'textxx' });
    expect(instanceOf({ definitions: { X: { const: 7 } }, $ref: '#/definitions/X' })).toBe(7);
    expect(
      instanceOf({ type: 'array', items: [{ type: 'string' }, { type: 'boolean' }], additionalItems: false }),
    ).toEqual(['text', false]);
    expect(instanceOf({ type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 4 })).toBe(1);
    expect(
      instanceOf({ type: 'object', minProperties: 2, additionalProperties: { type: 'integer' } }),
    ).toEqual({
      key1: 0,
      key2: 0,
    });
    expect(
      instanceOf({
        allOf: [
          { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
          { required: ['b'] },
        ],
      }),
    ).toEqual({ a: 'text', b: null });
    expect(instanceOf(true)).toBeNull();
    expect(instanceOf({})).toBeNull();
  });

  it('refuses what admits no value', () => {
    expect(() => instanceOf(false)).toThrow(/admits no value/);
    expect(() => instanceOf({ $ref: '#/$defs/Missing' })).toThrow(/unresolvable/);
    expect(() => instanceOf({ $ref: 'https://example.com/schema.json' })).toThrow(/local/);
  });
});

describe('samplesForPattern', () => {
  const matches = (pattern: string, variant = 0) => {
    const re = compilePattern(pattern) as RegExp;
    return samplesForPattern(pattern, variant).every((s) => re.test(s));
  };

  it('samples simple patterns so that the RegExp accepts them', () => {
    for (const p of [
      '^[A-Z]{2}-\\d{3}$',
      '^(?:foo|bar)+baz?$',
      '^(?<year>\\d{4})-(0[1-9]|1[0-2])$',
      '^[^a-z]+$',
      '^\\w+@\\w+\\.com$',
      '^\\u0041\\x42[\\-_.]c*$',
      '^\\p{L}+\\s\\p{N}$',
      '^a.b{2,}c{1,3}?$',
    ]) {
      expect(matches(p), p).toBe(true);
      expect(matches(p, 3), `${p} (variant 3)`).toBe(true);
    }
    expect(samplesForPattern('^[A-Z]{2}$', 0)[0]).toBe('AA');
    expect(samplesForPattern('^[A-Z]{2}$', 1)[0]).toBe('BB');
  });

  it('gives up on what is not simple', () => {
    for (const p of ['^(?=a)a$', '^(a)\\1$', '^(?<!x)y$', '^\\p{Script=Greek}$', '(unclosed']) {
      expect(() => samplesForPattern(p), p).toThrow(UnsupportedPattern);
    }
  });
});
