/**
 * `instanceOf(schema)`: a deterministic, minimal JSON value that satisfies a JSON Schema (draft 2020-12,
 * as `z.toJSONSchema` of zod 4 produces it; draft-07 tuples and boolean exclusive bounds are understood
 * too). What "auto" answers with when a request carries a `format` schema.
 *
 * - objects: every `required` property (plus more if `minProperties` asks), `propertyNames.enum` keys
 *   (zod's exhaustive records); `additionalProperties`/`patternProperties` schemas for keys not in
 *   `properties`
 * - `const` → it; `enum` → the first value (the `variant`-th for unique array items)
 * - strings: `format` samples (email, uuid, date-time, date, time, uri, ipv4, …), `pattern` if simple
 *   (see pattern.ts), `minLength`/`maxLength`; otherwise the word "text"
 * - numbers/integers: 0 if allowed, else the bound nearest 0 that satisfies `minimum`/`maximum`/
 *   `exclusiveMinimum`/`exclusiveMaximum`/`multipleOf`
 * - booleans false, null null
 * - arrays: `minItems ?? 1` items capped by `maxItems` (`minItems ?? 0` inside a recursive `$ref`, so
 *   recursive schemas end), `prefixItems` tuples, `uniqueItems` (items built with distinct variants)
 * - `anyOf`/`oneOf` → the first branch; `allOf` → merged; `type: [..., 'null']` → the first non-null type
 * - `$ref` → JSON pointers into the root (`#`, `#/$defs/X`, `#/definitions/X`), sibling keywords merged
 *
 * Best effort: a schema it cannot satisfy (`false`, contradictory bounds, patterns it cannot sample)
 * gives its closest guess, or throws for `false` and endless recursion.
 */
import { compilePattern, samplesForPattern, UnsupportedPattern } from './pattern.ts';

export type JsonSchema = boolean | { [keyword: string]: unknown };

export interface InstanceOptions {
  /** Shifts choices (enum member, string suffix, number) so that different variants differ. */
  variant?: number;
}

type Schema = Record<string, unknown>;

interface State {
  root: unknown;
  refs: string[];
  /** Inside a recursive `$ref`: arrays default to no items so that the value is finite. */
  minimal: boolean;
  depth: number;
}

const MAX_DEPTH = 200;

export function instanceOf(schema: unknown, options: InstanceOptions = {}): unknown {
  return build(schema, { root: schema, refs: [], minimal: false, depth: 0 }, options.variant ?? 0);
}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function build(schema: unknown, st: State, variant: number): unknown {
  if (st.depth > MAX_DEPTH) throw new Error('instanceOf: schema nests too deeply (endless recursion?)');
  if (schema === false) throw new Error('instanceOf: the schema `false` admits no value');
  if (!isObject(schema)) return null; // `true`, `{}`-like: anything goes
  const next: State = { ...st, depth: st.depth + 1 };

  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    const { $ref: _ignored, ...siblings } = schema;
    const target = resolveRef(st.root, ref);
    const recursive = st.refs.includes(ref);
    const merged = isObject(target) ? mergeSchemas([target, siblings]) : target;
    return build(merged, { ...next, refs: [...st.refs, ref], minimal: st.minimal || recursive }, variant);
  }
  if ('const' in schema) return clone(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return clone(schema.enum[variant % schema.enum.length]);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const { allOf, ...rest } = schema;
    const parts = (allOf as unknown[]).map((s) => derefShallow(st.root, s));
    return build(mergeSchemas([rest, ...parts]), next, variant);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const { [key]: _branches, ...rest } = schema;
      const branch = pickBranch(branches, st);
      const merged = isObject(branch) ? mergeSchemas([rest, branch]) : branch;
      return build(merged, next, variant);
    }
  }

  switch (typeOf(schema)) {
    case 'object':
      return buildObject(schema, next, variant);
    case 'array':
      return buildArray(schema, next, variant);
    case 'string':
      return buildString(schema, variant);
    case 'integer':
      return buildNumber(schema, true, variant);
    case 'number':
      return buildNumber(schema, false, variant);
    case 'boolean':
      return variant % 2 === 1;
    default:
      return null;
  }
}

/** Inside a recursive `$ref`, prefer a branch that does not recurse (e.g. `null` of a nullable child). */
function pickBranch(branches: unknown[], st: State): unknown {
  if (!st.minimal) return branches[0];
  return branches.find((b) => !JSON.stringify(b).includes('"$ref"')) ?? branches[0];
}

function typeOf(schema: Schema): string | undefined {
  const t = schema.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') ?? t[0]) as string | undefined;
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema || 'minItems' in schema) return 'array';
  if ('minLength' in schema || 'maxLength' in schema || 'pattern' in schema || 'format' in schema)
    return 'string';
  if ('minimum' in schema || 'maximum' in schema || 'multipleOf' in schema) return 'number';
  return undefined;
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) throw new Error(`instanceOf: only local $refs are supported, got ${ref}`);
  const pointer = ref.slice(1);
  if (pointer === '' || pointer === '/') return root;
  let node: unknown = root;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) && !Array.isArray(node)) throw new Error(`instanceOf: unresolvable $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
    if (node === undefined) throw new Error(`instanceOf: unresolvable $ref ${ref}`);
  }
  return node;
}

function derefShallow(root: unknown, schema: unknown): unknown {
  let s = schema;
  for (let k = 0; k < 32 && isObject(s) && typeof s.$ref === 'string'; k++) {
    const { $ref, ...siblings } = s;
    const target = resolveRef(root, $ref as string);
    s = isObject(target) ? mergeSchemas([target, siblings]) : target;
  }
  return s;
}

/** The conjunction of several schemas, as far as a minimal instance needs it. */
function mergeSchemas(schemas: unknown[]): Schema {
  const out: Schema = {};
  const patterns: string[] = [];
  for (const s of schemas) {
    if (!isObject(s)) continue;
    for (const [key, value] of Object.entries(s)) {
      const prev = out[key];
      if (key === 'pattern' && typeof value === 'string') patterns.push(value);
      else if (key === 'x-patterns' && Array.isArray(value)) patterns.push(...(value as string[]));
      else if (key === 'properties' && isObject(value) && isObject(prev)) {
        const props: Schema = { ...prev };
        for (const [name, sub] of Object.entries(value)) {
          props[name] = name in props ? { allOf: [props[name], sub] } : sub;
        }
        out.properties = props;
      } else if (key === 'required' && Array.isArray(value)) {
        out.required = [...new Set([...((prev as string[] | undefined) ?? []), ...(value as string[])])];
      } else if (key === 'allOf' && Array.isArray(value)) {
        out.allOf = [...((prev as unknown[] | undefined) ?? []), ...value];
      } else if (prev !== undefined && typeof value === 'number' && typeof prev === 'number') {
        const tighter = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'].includes(
          key,
        )
          ? Math.max(prev, value)
          : ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'].includes(key)
            ? Math.min(prev, value)
            : value;
        out[key] = tighter;
      } else if (prev === undefined || key === 'type') out[key] = value;
    }
  }
  if (patterns.length > 0) out['x-patterns'] = patterns;
  return out;
}

function buildObject(schema: Schema, st: State, variant: number): Record<string, unknown> {
  const props = isObject(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const additional = schema.additionalProperties;
  const patternProps = isObject(schema.patternProperties) ? schema.patternProperties : {};
  const schemaFor = (key: string): unknown => {
    if (key in props) return props[key];
    for (const [pattern, sub] of Object.entries(patternProps)) {
      if (compilePattern(pattern)?.test(key)) return sub;
    }
    return additional === undefined || additional === false ? true : additional;
  };
  const keys = [...required];
  const names = isObject(schema.propertyNames) ? schema.propertyNames : undefined;
  if (names && Array.isArray(names.enum)) keys.push(...(names.enum as string[]).map(String));
  else if (names && typeof names.const === 'string') keys.push(names.const);
  const minProps = num(schema.minProperties) ?? 0;
  for (const key of Object.keys(props)) {
    if (new Set(keys).size >= minProps) break;
    keys.push(key);
  }
  for (let k = 1; new Set(keys).size < minProps && additional !== false && k < 1000; k++)
    keys.push(`key${k}`);

  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!(key in out)) out[key] = build(schemaFor(key), st, variant);
  }
  return out;
}

function buildArray(schema: Schema, st: State, variant: number): unknown[] {
  const prefix: unknown[] = Array.isArray(schema.prefixItems)
    ? schema.prefixItems
    : Array.isArray(schema.items)
      ? schema.items
      : [];
  const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
  const minItems = num(schema.minItems);
  const maxItems = num(schema.maxItems) ?? Number.POSITIVE_INFINITY;
  let count = Math.max(minItems ?? (st.minimal ? 0 : 1), prefix.length);
  if (rest === false) count = Math.min(count, prefix.length);
  count = Math.min(count, maxItems);
  const unique = schema.uniqueItems === true;

  const out: unknown[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < count && i < count + 64; i++) {
    const index = out.length;
    const itemSchema = index < prefix.length ? prefix[index] : (rest ?? true);
    const value = build(itemSchema, st, unique ? variant + i : variant);
    const key = JSON.stringify(value);
    if (unique && seen.has(key)) continue;
    seen.add(key);
    out.push(value);
  }
  return out;
}

function buildNumber(schema: Schema, integer: boolean, variant: number): number {
  let lo = num(schema.minimum) ?? Number.NEGATIVE_INFINITY;
  let hi = num(schema.maximum) ?? Number.POSITIVE_INFINITY;
  let loEx = false;
  let hiEx = false;
  const exMin = schema.exclusiveMinimum;
  const exMax = schema.exclusiveMaximum;
  if (typeof exMin === 'number' && exMin >= lo) [lo, loEx] = [exMin, true];
  else if (exMin === true) loEx = true; // draft-04
  if (typeof exMax === 'number' && exMax <= hi) [hi, hiEx] = [exMax, true];
  else if (exMax === true) hiEx = true;
  const multipleOf = num(schema.multipleOf);
  const step = multipleOf !== undefined && multipleOf > 0 ? multipleOf : integer ? 1 : undefined;
  const tidy = (v: number) => (Number.isInteger(v) ? v : Number.parseFloat(v.toPrecision(12)));
  const isMultiple = (v: number) => {
    if (multipleOf === undefined || multipleOf <= 0) return true;
    const q = v / multipleOf;
    return Math.abs(q - Math.round(q)) < 1e-9;
  };
  const ok = (v: number) =>
    Number.isFinite(v) &&
    (v > lo || (!loEx && v === lo)) &&
    (v < hi || (!hiEx && v === hi)) &&
    (!integer || Number.isInteger(v)) &&
    isMultiple(v);

  const candidates = [0];
  if (Number.isFinite(lo)) {
    let c = step ? Math.ceil(lo / step) * step : lo;
    if (loEx && c <= lo) c = step ? c + step : lo + 1 < hi ? lo + 1 : (lo + hi) / 2;
    candidates.push(tidy(c));
  }
  if (Number.isFinite(hi)) {
    let c = step ? Math.floor(hi / step) * step : hi;
    if (hiEx && c >= hi) c = step ? c - step : hi - 1 > lo ? hi - 1 : (lo + hi) / 2;
    candidates.push(tidy(c));
  }
  if (Number.isFinite(lo) && Number.isFinite(hi)) candidates.push((lo + hi) / 2);
  const valid = candidates.filter(ok).sort((a, b) => Math.abs(a) - Math.abs(b));
  const base = valid[0] ?? (candidates[1] as number | undefined) ?? 0;
  if (variant === 0) return base;
  const delta = (step ?? 1) * variant;
  for (const v of [tidy(base + delta), tidy(base - delta)]) if (ok(v)) return v;
  return base;
}

function length(s: string): number {
  return [...s].length;
}

function toLetters(n: number): string {
  let s = '';
  let k = n;
  do {
    s = String.fromCharCode(97 + (k % 26)) + s;
    k = Math.floor(k / 26);
  } while (k > 0);
  return s;
}

function word(variant: number, minLength: number, maxLength: number): string {
  let s = variant === 0 ? 'text' : `text${variant}`;
  if (length(s) > maxLength) s = toLetters(variant).slice(-maxLength);
  s = s.slice(0, maxLength);
  while (length(s) < minLength) s += 'x';
  return s;
}

function formatSamples(format: string, variant: number): string[] {
  const v = variant;
  const day = String(1 + (v % 28)).padStart(2, '0');
  const tail = String(v).padStart(12, '0').slice(-12);
  switch (format) {
    case 'email':
    case 'idn-email':
      return [v === 0 ? 'user@example.com' : `user${v}@example.com`];
    case 'uuid':
    case 'guid':
      return [`00000000-0000-4000-8000-${tail}`];
    case 'date-time':
      return [`2024-01-${day}T00:00:00Z`, `2024-01-${day}T00:00:00.000Z`, `2024-01-${day}T00:00:00+00:00`];
    case 'date':
      return [`2024-01-${day}`];
    case 'time':
      return ['00:00:00', '00:00:00Z', '00:00'];
    case 'duration':
      return [`P${v + 1}D`];
    case 'uri':
    case 'url':
    case 'iri':
    case 'uri-reference':
    case 'iri-reference':
      return [v === 0 ? 'https://example.com' : `https://example.com/${v}`];
    case 'hostname':
    case 'idn-hostname':
      return [v === 0 ? 'example.com' : `host${v}.example.com`];
    case 'ipv4':
      return [`192.0.2.${v % 256}`];
    case 'ipv6':
      return [`2001:db8::${(v % 65535).toString(16)}`];
    case 'cidrv4':
      return [`10.${v % 256}.0.0/16`];
    case 'cidrv6':
      return ['2001:db8::/32'];
    case 'nanoid':
      return [`V1StGXR8_Z5jdHi6B-my${toLetters(v).slice(-1)}`];
    case 'cuid':
      return [`cjld2cjxh0000qzrmn831i7r${toLetters(v).padStart(2, 'a').slice(-2)}`];
    case 'cuid2':
      return [`tz4a98xxat96iws9zmbrgj${toLetters(v).padStart(2, 'a').slice(-2)}`];
    case 'ulid':
      return [
        `01ARZ3NDEKTSV4RRFFQ69G5F${toLetters(v)
          .toUpperCase()
          .replace(/[ILOU]/g, 'A')
          .padStart(2, 'A')
          .slice(-2)}`,
      ];
    case 'xid':
      return [`9m4e2mr0ui3e8a215n4${toLetters(v).slice(-1)}`];
    case 'ksuid':
      return [`0ujtsYcgvSTl8PAuAdqWYSMnL${toLetters(v).padStart(2, 'a').slice(-2)}`];
    case 'e164':
      return [`+1415555${String(1000 + (v % 9000))}`];
    case 'base64':
    case 'base64url':
      return ['dGVzdA==', 'dGVzdA'];
    case 'jwt':
      return ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'];
    case 'emoji':
      return ['😀'];
    case 'mac':
      return ['00:1a:2b:3c:4d:5e'];
    case 'hex':
      return [v.toString(16)];
    default:
      return [];
  }
}

function buildString(schema: Schema, variant: number): string {
  const minLength = num(schema.minLength) ?? 0;
  const maxLength = num(schema.maxLength) ?? Number.POSITIVE_INFINITY;
  const patterns = [
    ...(typeof schema.pattern === 'string' ? [schema.pattern] : []),
    ...(Array.isArray(schema['x-patterns']) ? (schema['x-patterns'] as string[]) : []),
  ];
  const regexes = patterns.map(compilePattern).filter((r): r is RegExp => r !== undefined);
  const fits = (s: string) =>
    length(s) >= minLength && length(s) <= maxLength && regexes.every((r) => r.test(s));

  const candidates: string[] = [];
  if (typeof schema.format === 'string') candidates.push(...formatSamples(schema.format, variant));
  const formatted = candidates.find(fits);
  if (formatted !== undefined) return formatted;
  // The plain word is the nicest answer when it fits (e.g. zod's lowercase pattern ^[^A-Z]*$).
  const plain = word(variant, minLength, maxLength);
  if (fits(plain)) return plain;

  const firsts: string[] = [];
  for (const pattern of patterns) {
    try {
      const samples = samplesForPattern(pattern, variant);
      firsts.push(samples[0] as string);
      candidates.push(...samples);
      if (minLength > 0 && minLength <= 1000)
        candidates.push(...samplesForPattern(pattern, variant, [minLength]));
    } catch (err) {
      if (!(err instanceof UnsupportedPattern)) throw err;
    }
  }
  // Several patterns (zod's startsWith + endsWith + includes): their samples one after the other; a
  // pattern that only constrains a prefix or a suffix: the plain word around the sample.
  if (firsts.length > 1) candidates.push(firsts.join(''));
  for (const f of firsts) candidates.push(f + plain, plain + f);
  return candidates.find(fits) ?? candidates[0] ?? plain;
}
