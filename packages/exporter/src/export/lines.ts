import { Transform, type TransformCallback } from 'node:stream';
import type { LineRow } from './release.repository.ts';

/**
 * Release lines: one JSON object per item, in PostgreSQL's jsonb text style (`"key": value, …`), so the
 * JSON the database already holds is written as it is, never parsed and re-serialised here:
 *
 * - a segment version is its stored snapshot (jsonb text: keys ordered by length, then bytes);
 * - a generated item is `{"id", "kind", "run_id", "topic", "target_band", "source_segment_id", "model",
 *   "prompt_version", "payload"}` with the payload (the content the model wrote and the schema checked)
 *   nested as stored. Nesting keeps the item's own fields and the model's apart: a payload key can never
 *   shadow the item's id or kind. The contract is `ReleaseLine` in @pronielts/shared/contracts.
 *
 * The same release always has the same bytes (its rows are read in item order). Two renderers make them:
 * {@link renderLine} from row objects (the embedded database's pages, and any row with escapes), and
 * {@link CopyTextToLines}, which copies the bytes of PostgreSQL's COPY output into lines without decoding
 * them (far less work than building strings). Tests hold the two to the same bytes.
 */

/** The generated-item keys in line order, each with the column it comes from. */
const GENERATED_KEYS = [
  ['id', 'item_id'],
  ['kind', 'kind'],
  ['run_id', 'run_id'],
  ['topic', 'topic'],
  ['target_band', 'target_band'],
  ['source_segment_id', 'source_segment_id'],
  ['model', 'model'],
  ['prompt_version', 'prompt_version'],
  ['payload', 'payload'],
] as const satisfies ReadonlyArray<readonly [string, keyof LineRow]>;

/** What precedes each key's value: `{"id": `, `, "kind": `, … */
const KEY_PREFIX = GENERATED_KEYS.map(([key], i) => `${i === 0 ? '{' : ', '}"${key}": `);
const KEY_PREFIX_BYTES = KEY_PREFIX.map((p) => Buffer.from(p));

/** A generated item's or segment's line (without the newline). */
export function renderLine(r: LineRow): string {
  if (r.content !== null) return r.content;
  if (r.payload === null)
    throw new Error(`release item ${r.item_id} has neither a snapshot nor a generated row`);
  let line = '';
  GENERATED_KEYS.forEach(([, column], i) => {
    const v = r[column];
    const json =
      column === 'payload'
        ? String(v)
        : column === 'target_band'
          ? band(r.item_id, v)
          : str(v as string | null);
    line += KEY_PREFIX[i] + json;
  });
  return `${line}}`;
}

const str = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));

const BAND = /^\d{1,2}(\.\d)?$/;

/** numeric(3,1) text ("7.0") is a JSON number as it is; anything else is refused, not spliced. */
function band(itemId: string, v: string | number | null): string {
  if (v === null) return 'null';
  const b = String(v);
  if (!BAND.test(b)) throw new Error(`release item ${itemId} has a malformed target band`);
  return b;
}

/** The column order of a {@link LineRow} as the release queries select it. */
const COLUMNS = [
  'item_id',
  'content',
  'kind',
  'run_id',
  'topic',
  'target_band',
  'source_segment_id',
  'model',
  'prompt_version',
  'payload',
] as const satisfies ReadonlyArray<keyof LineRow>;
const COLUMN_INDEX = Object.fromEntries(COLUMNS.map((c, i) => [c, i])) as Record<keyof LineRow, number>;
const CONTENT = COLUMN_INDEX.content;
const BAND_COLUMN = COLUMN_INDEX.target_band;
/** The column of each generated key, by key position. */
const GENERATED_COLUMN = GENERATED_KEYS.map(([, column]) => COLUMN_INDEX[column]);

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * One field of PostgreSQL's COPY text format: `\N` is null; otherwise backslash escapes. COPY TO emits
 * only \b \f \n \r \t \v and \\ (never octal or hex; PostgreSQL docs, "COPY: Text Format"), and a raw
 * tab or newline never appears inside a value.
 */
function field(s: string): string | null {
  if (s === '\\N') return null;
  return s.includes('\\') ? s.replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c) : s;
}

/** A COPY text row (without its newline) as a {@link LineRow}. */
export function parseRow(line: string): LineRow {
  const f = line.split('\t');
  if (f.length !== COLUMNS.length)
    throw new Error(`a release row has ${f.length} columns, expected ${COLUMNS.length}`);
  const row: Record<string, string | null> = {};
  for (let i = 0; i < COLUMNS.length; i++) row[COLUMNS[i] as string] = field(f[i] as string);
  if (row.item_id === null) throw new Error('a release row has no item id');
  return row as unknown as LineRow;
}

const TAB = 0x09;
const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const QUOTE_BYTES = Buffer.from('"');
const NULL_BYTES = Buffer.from('null');
const LINE_END = Buffer.from('}\n');
const NEWLINE = Buffer.from('\n');

/** True when bytes [s, e) are `\N`, COPY's null. */
const isNull = (b: Buffer, s: number, e: number) => e - s === 2 && b[s] === BACKSLASH && b[s + 1] === 0x4e;

/** True when bytes [s, e) are a band as numeric(3,1) prints it. */
function plainBand(b: Buffer, s: number, e: number): boolean {
  if (e - s < 1 || e - s > 4) return false;
  for (let i = s; i < e; i++) {
    const c = b[i] as number;
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e)) return false;
  }
  return BAND.test(b.toString('latin1', s, e));
}

/**
 * COPY … TO STDOUT (text format) rows of a release query in, JSON lines out, counted. A raw newline only
 * ever ends a row, so rows are split on it and the last partial row waits for the next chunk (bytes, so a
 * multi-byte character split across chunks is whole again before anything looks at it).
 *
 * A row whose fields need no escaping either way (the common case: ids, names, and JSON without
 * backslashes) is copied from the input into the output buffer piece by piece; any other row goes
 * through {@link parseRow} and {@link renderLine}, which decode, unescape and re-escape it.
 */
export class CopyTextToLines extends Transform {
  lines = 0;
  /** Lines that took the slow path. */
  slowLines = 0;
  #rest: Buffer | undefined;
  /** Field bounds of the row being rendered: start and end offsets, two per column. */
  readonly #bounds = new Int32Array(COLUMNS.length * 2);
  /** The next backslash in the current input buffer at or after the row being rendered (-1: none). */
  #backslashAt = -1;
  /** The output of the chunk being transformed: full buffers, and the one being filled up to #pos. */
  #full: Buffer[] = [];
  #out: Buffer = Buffer.alloc(0);
  #pos = 0;

  constructor() {
    super({ writableHighWaterMark: 1 << 20, readableHighWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#full = [];
      this.#out = Buffer.allocUnsafe(Math.ceil(chunk.length * 1.5) + 4096);
      this.#pos = 0;
      let start = 0;
      if (this.#rest) {
        // Only the row that straddles two chunks is copied together; the rest is read in place.
        const nl = chunk.indexOf(NL);
        if (nl < 0) {
          this.#rest = Buffer.concat([this.#rest, chunk]);
          done();
          return;
        }
        const row = Buffer.concat([this.#rest, chunk.subarray(0, nl + 1)]);
        this.#rest = undefined;
        this.#rows(row, 0, row.length - 1);
        start = nl + 1;
      }
      const end = chunk.lastIndexOf(NL);
      if (end >= start) this.#rows(chunk, start, end);
      const tail = Math.max(start, end + 1);
      if (tail < chunk.length) this.#rest = Buffer.from(chunk.subarray(tail));
      const last = this.#out.subarray(0, this.#pos);
      done(null, this.#full.length === 0 ? last : Buffer.concat([...this.#full, last]));
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    const tail = this.#rest?.length ?? 0;
    done(tail === 0 ? null : new Error(`COPY output ended inside a row (${tail} bytes)`));
  }

  /** Renders the rows of buf[start..end], where `end` is the newline of the last of them. */
  #rows(buf: Buffer, start: number, end: number): void {
    this.#backslashAt = buf.indexOf(BACKSLASH, start);
    while (start <= end) {
      const nl = buf.indexOf(NL, start);
      // Room for the whole line (the row, the keys and quotes), so a row never spans two buffers.
      this.#reserve(nl - start + 256);
      const mark = this.#pos;
      if (!this.#fastRow(buf, start, nl)) {
        this.#pos = mark;
        this.slowLines++;
        const line = Buffer.from(`${renderLine(parseRow(buf.toString('utf8', start, nl)))}\n`);
        this.#reserve(line.length);
        this.#put(line, 0, line.length);
      }
      this.lines++;
      start = nl + 1;
    }
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#out.length) return;
    this.#full.push(this.#out.subarray(0, this.#pos));
    this.#out = Buffer.allocUnsafe(Math.max(n, 1 << 20));
    this.#pos = 0;
  }

  /** Copies src[s, e) to the output (short pieces byte by byte: cheaper than a native call). */
  #put(src: Buffer, s: number, e: number): void {
    const out = this.#out;
    let p = this.#pos;
    if (e - s > 48) p += src.copy(out, p, s, e);
    else for (let i = s; i < e; i++) out[p++] = src[i] as number;
    this.#pos = p;
  }

  /** Whether bytes [s, e) of the current input buffer hold a backslash (fields are visited in order). */
  #hasBackslash(buf: Buffer, s: number, e: number): boolean {
    if (this.#backslashAt !== -1 && this.#backslashAt < s) this.#backslashAt = buf.indexOf(BACKSLASH, s);
    return this.#backslashAt !== -1 && this.#backslashAt < e;
  }

  /** Writes the row's line from pieces of `buf`; false (having written part of it) for the slow path. */
  #fastRow(buf: Buffer, start: number, end: number): boolean {
    const b = this.#bounds;
    const last = COLUMNS.length - 1;
    // One pass over the short columns before the payload: their bounds, and which of them hold a byte
    // JSON would escape (a quote, a backslash or a control byte; COPY's null marker `\N` among them).
    let dirty = 0;
    let column = 0;
    let fieldStart = start;
    let i = start;
    for (; column < last; i++) {
      if (i >= end) return false; // too few columns: the slow path reports it
      const c = buf[i] as number;
      if (c === TAB) {
        b[2 * column] = fieldStart;
        b[2 * column + 1] = i;
        column++;
        fieldStart = i + 1;
      } else if (c < 0x20 || c === QUOTE || c === BACKSLASH) dirty |= 1 << column;
    }
    b[2 * last] = i;
    b[2 * last + 1] = end;
    // The payload (or, for a segment, the content) is JSON already: only COPY's escapes matter there.
    if (this.#hasBackslash(buf, i, end)) return false;
    const extra = buf.indexOf(TAB, i);
    if (extra !== -1 && extra < end) return false; // too many columns

    const cs = b[2 * CONTENT] as number;
    const ce = b[2 * CONTENT + 1] as number;
    if (!isNull(buf, cs, ce)) {
      if (dirty & (1 << CONTENT) || !isNull(buf, i, end)) return false;
      this.#put(buf, cs, ce);
      this.#put(NEWLINE, 0, 1);
      return true;
    }
    for (let k = 0; k < GENERATED_KEYS.length; k++) {
      const ci = GENERATED_COLUMN[k] as number;
      const fs = b[2 * ci] as number;
      const fe = b[2 * ci + 1] as number;
      const prefix = KEY_PREFIX_BYTES[k] as Buffer;
      this.#put(prefix, 0, prefix.length);
      if (ci === last) {
        if (isNull(buf, fs, fe)) return false;
        this.#put(buf, fs, fe);
      } else if (dirty & (1 << ci)) {
        if (ci === 0 || !isNull(buf, fs, fe)) return false;
        this.#put(NULL_BYTES, 0, NULL_BYTES.length);
      } else if (ci === BAND_COLUMN) {
        if (!plainBand(buf, fs, fe)) return false;
        this.#put(buf, fs, fe);
      } else {
        this.#put(QUOTE_BYTES, 0, 1);
        this.#put(buf, fs, fe);
        this.#put(QUOTE_BYTES, 0, 1);
      }
    }
    this.#put(LINE_END, 0, LINE_END.length);
    return true;
  }
}
