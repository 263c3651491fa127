import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { GeneratedReleaseLine } from '@pronielts/shared/contracts';
import { describe, expect, it } from 'vitest';
import { CopyTextToLines, parseRow, renderLine } from './lines.ts';
import type { LineRow } from './release.repository.ts';

const generated = (over: Partial<LineRow> = {}): LineRow => ({
  item_id: 'gi_1',
  content: null,
  kind: 'follow_up',
  run_id: 'run-1',
  topic: 'work',
  target_band: '7.0',
  source_segment_id: null,
  model: 'llama3.1:8b',
  prompt_version: 'followup-v1',
  payload: '{"topic": "jobs", "questions": ["Why?"]}',
  ...over,
});

/** A row as COPY … TO STDOUT writes it in text format. */
const copyRow = (fields: Array<string | null>) =>
  `${fields
    .map((f) =>
      f === null
        ? '\\N'
        : f.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r'),
    )
    .join('\t')}\n`;

const fieldsOf = (r: LineRow) => [
  r.item_id,
  r.content,
  r.kind,
  r.run_id,
  r.topic,
  r.target_band === null ? null : String(r.target_band),
  r.source_segment_id,
  r.model,
  r.prompt_version,
  r.payload,
];

async function render(chunks: Buffer[]): Promise<{ out: string; lines: number }> {
  const t = new CopyTextToLines();
  const out = await text(Readable.from(chunks).pipe(t));
  return { out, lines: t.lines };
}

describe('renderLine', () => {
  it('renders a generated item as its fields with the stored payload nested as it is', () => {
    const line = renderLine(generated());
    expect(line).toBe(
      '{"id": "gi_1", "kind": "follow_up", "run_id": "run-1", "topic": "work", "target_band": 7.0, "source_segment_id": null, "model": "llama3.1:8b", "prompt_version": "followup-v1", "payload": {"topic": "jobs", "questions": ["Why?"]}}',
    );
    expect(GeneratedReleaseLine.parse(JSON.parse(line))).toMatchObject({
      id: 'gi_1',
      topic: 'work',
      target_band: 7,
      payload: { topic: 'jobs', questions: ['Why?'] },
    });
  });

  it('escapes the item fields; a payload key named like a field cannot shadow it', () => {
    const line = renderLine(
      generated({
        topic: 'quote " backslash \\ newline \n tab \t café',
        target_band: null,
        payload: '{"id": "evil", "kind": "segment", "__proto__": {"polluted": true}}',
      }),
    );
    const parsed = GeneratedReleaseLine.parse(JSON.parse(line));
    expect(parsed).toMatchObject({ id: 'gi_1', kind: 'follow_up', target_band: null });
    expect(parsed.topic).toBe('quote " backslash \\ newline \n tab \t café');
    expect(parsed.payload.id).toBe('evil');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('writes a segment snapshot as stored', () => {
    const content = '{"id": "cls_1", "band": 6.5, "text": "a\\tb"}';
    expect(renderLine(generated({ item_id: 'cls_1', content }))).toBe(content);
  });

  it('refuses a row with neither a snapshot nor a payload, and a band it would not splice', () => {
    expect(() => renderLine(generated({ payload: null }))).toThrow(/gi_1 has neither/);
    expect(() => renderLine(generated({ target_band: '7}, "x": {' }))).toThrow(/malformed target band/);
  });
});

describe('COPY text rows to JSON lines', () => {
  it('unescapes fields and reads \\N as null', () => {
    const row = generated({ topic: 'tab\there\nnew line \\ back', payload: '{"q": "say \\"hi\\""}' });
    expect(parseRow(copyRow(fieldsOf(row)).slice(0, -1))).toEqual(row);
    expect(parseRow(copyRow(fieldsOf(generated({ target_band: null }))).slice(0, -1)).target_band).toBeNull();
  });

  it('renders rows split anywhere across chunks, multi-byte characters included', async () => {
    const rows = [
      generated({ item_id: 'gi_1', payload: '{"questions": ["Café, naïve — 日本語 🎉?"]}' }),
      generated({ item_id: 'gi_2', topic: 'line\nbreak' }),
      generated({ item_id: 'cls_3', content: '{"text": "über"}' }),
    ];
    const bytes = Buffer.from(rows.map((r) => copyRow(fieldsOf(r))).join(''));
    const whole = await render([bytes]);
    expect(whole.lines).toBe(3);
    expect(
      whole.out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id ?? null),
    ).toEqual(['gi_1', 'gi_2', null]);
    // Every split point, byte by byte, gives the same output.
    for (let i = 1; i < bytes.length; i++) {
      const split = await render([bytes.subarray(0, i), bytes.subarray(i)]);
      expect(split.out, `split at byte ${i}`).toBe(whole.out);
    }
  });

  it('renders exactly what renderLine renders, for rows with and without escapes (seeded random rows)', async () => {
    let x = 20261122;
    const rand = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const pieces = [
      'work',
      'café',
      '日本',
      '🎉',
      ' ',
      'a"b',
      'back\\slash',
      'tab\tx',
      'nl\ny',
      '\u0001',
      'x',
    ];
    const words = () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(pieces)).join('');
    const rows: LineRow[] = Array.from({ length: 2000 }, (_, i) => {
      const plain = rand() < 0.8;
      const t = () => (plain ? pick(['work', 'café', '日本 🎉', 'a b']) : words());
      if (rand() < 0.1)
        return generated({ item_id: `cls_${i}`, content: JSON.stringify({ id: `cls_${i}`, text: t() }) });
      return generated({
        item_id: `gi_${i}`,
        topic: rand() < 0.2 ? null : t(),
        target_band: pick([null, '5.5', '7.0', '9.0']),
        source_segment_id: rand() < 0.5 ? null : `seg_${i}`,
        model: t(),
        payload: JSON.stringify({ questions: [t(), t()] }),
      });
    });
    const bytes = Buffer.from(rows.map((r) => copyRow(fieldsOf(r))).join(''));
    const t = new CopyTextToLines();
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 4093) chunks.push(bytes.subarray(i, i + 4093));
    const out = await text(Readable.from(chunks).pipe(t));
    expect(out).toBe(rows.map((r) => `${renderLine(r)}\n`).join(''));
    for (const l of out.split('\n').filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
    // Both paths were taken: most rows need no escaping, the rest do.
    expect(t.slowLines).toBeGreaterThan(100);
    expect(t.slowLines).toBeLessThan(rows.length / 2);
  });

  it('fails on output that ends inside a row or has the wrong number of columns', async () => {
    await expect(render([Buffer.from('gi_1\t\\N')])).rejects.toThrow(/ended inside a row/);
    await expect(render([Buffer.from('gi_1\t\\N\n')])).rejects.toThrow(/2 columns, expected 10/);
  });

  it('renders nothing for no rows', async () => {
    expect(await render([])).toEqual({ out: '', lines: 0 });
  });
});
