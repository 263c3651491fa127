import { describe, expect, it } from 'vitest';
import { didWork } from '../execute.ts';
import { bar, downloadText, progressText } from '../progress/format.ts';
import { barChart } from './charts.ts';
import { gateRules } from './collect.ts';
import type { ReportData } from './data.ts';
import { renderHtml, timestamp } from './html.ts';
import { renderTable } from './table.ts';

const data = (over: Partial<ReportData> = {}): ReportData => ({
  runId: 'r1',
  generatedAt: '2026-01-01T00:00:00.000Z',
  totalMs: 12_345,
  noWork: false,
  db: 'embedded PGlite',
  storage: 'folder:/d/objects',
  llm: null,
  stages: [
    {
      name: 'ingest',
      exitCode: 0,
      wallMs: 1500,
      durationMs: 1200,
      in: 3,
      out: 2,
      rejected: 1,
      reasons: { too_short: 1 },
      thisTime: { out: 2, skipped: 0, newWork: true },
    },
    {
      name: 'transcribe',
      exitCode: 75,
      wallMs: 900,
      durationMs: null,
      in: 2,
      out: 0,
      rejected: 0,
      reasons: {},
      thisTime: null,
    },
  ],
  transcript: {
    mediaId: 'ab'.repeat(32),
    source: '/s/<script>.ogg',
    model: 'base.en',
    status: 'ok',
    durationMs: 20_000,
    segments: [{ startMs: 61_250, endMs: 65_900, turn: 'answer', text: 'I live in <b>Lisbon</b> & love it' }],
    totalSegments: 1,
  },
  distributions: {
    part: { '1': 3, '3': 1 },
    topic: { work: 1, hometown: 3 },
    band: { '6.5': 1, '10': 2, '5': 1 },
  },
  samples: [],
  gate: [],
  release: {
    id: 'rel_1',
    location: '/d/objects/pronielts-processed/releases/rel_1/',
    manifestKey: null,
    itemCount: 4,
    counts: { drill: 4 },
  },
  failure: 'transcribe failed (exit 75)',
  ...over,
});

describe('HTML report', () => {
  it('escapes every text from the data (a transcript is untrusted input)', () => {
    const html = renderHtml(data());
    expect(html).toContain('I live in &lt;b&gt;Lisbon&lt;/b&gt; &amp; love it');
    expect(html).toContain('/s/&lt;script&gt;.ogg');
    expect(html).not.toContain('<script');
  });
  it('is self-contained: no external URL, no script', () => {
    const html = renderHtml(data());
    expect(html.match(/(?:src|href)=/g)).toBeNull();
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
  it('shows timestamps as mm:ss.d, the failure, and the release location', () => {
    expect(timestamp(61_250)).toBe('01:01.2');
    const html = renderHtml(data());
    expect(html).toContain('01:01.2 – 01:05.9');
    expect(html).toContain('transcribe failed (exit 75)');
    expect(html).toContain('/d/objects/pronielts-processed/releases/rel_1/');
    expect(html).toContain('<span class="bad">exit 75</span>');
  });
  it('charts: one bar per value, widths in proportion, bands in numeric order', () => {
    const svg = barChart('Band', { '6.5': 1, '10': 2, '5': 1 }, { id: 'band', numeric: true });
    expect([...svg.matchAll(/data-label="([^"]+)"/g)].map((m) => m[1])).toEqual(['5', '6.5', '10']);
    const widths = [...svg.matchAll(/<rect [^>]*width="(\d+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([130, 130, 260]);
    expect(barChart('Topic', {}, { id: 'topic' })).toContain('no classified segments');
  });
});

describe('terminal table', () => {
  it('aligns a row per stage with counts, reasons and the release line', () => {
    const lines = renderTable(data()).split('\n');
    expect(lines[0]).toMatch(/^stage +status +time +in +out +rejected +reasons$/);
    expect(lines[2]).toMatch(/^ingest +ok +1\.5s +3 +2 +1 +too_short×1$/);
    expect(lines[3]).toMatch(/^transcribe +exit 75 +0\.9s +2 +0 +0 +-$/);
    expect(lines.at(-1)).toBe('release rel_1 (4 items) at /d/objects/pronielts-processed/releases/rel_1/');
  });
});

describe('progress text and no-work detection', () => {
  it('bars and download progress', () => {
    expect(bar(0.5, 10)).toBe('[#####-----]');
    expect(bar(2, 4)).toBe('[####]');
    expect(downloadText(512 * 1024, 1024 * 1024)).toBe('[##########----------] 50% 0.5 MB of 1.0 MB');
    expect(progressText({ progress: { planned: 2, done: 1, skipped: 2 } })).toBe(
      '[##########----------] 1/2 items',
    );
    expect(progressText({ progress: { planned: 0, done: 0, skipped: 4 } })).toBe(
      'nothing to do: all 4 item(s) done before',
    );
    expect(progressText({ progress: { done: 50, skipped: 0 }, note: 'page of 50' })).toBe(
      '50 done · page of 50',
    );
  });
  it('a stage did work when it produced items or called the LLM; skipping everything is none', () => {
    expect(didWork({ counts: { in: 2, out: 0, skipped: 2 } })).toBe(false);
    expect(didWork({ counts: { in: 2, out: 1 } })).toBe(true);
    expect(didWork({ counts: { in: 2, out: 0, rejected: 2 }, llmCalls: 4 })).toBe(true);
    expect(didWork({ counts: { in: 4, out: 0, rejected: 2, skipped: 2 } })).toBe(true); // validated anew
    expect(didWork(null)).toBe(true);
  });
});

describe('the LLM line of the report', () => {
  it('names the model that served, and says plainly when it is the small one', () => {
    const html = renderHtml(
      data({
        llm: {
          model: 'pronielts-small',
          host: 'http://127.0.0.1:4',
          note: 'a small base model for trying the pipeline',
        },
      }),
    );
    expect(html).toContain('<p class="meta" data-testid="llm">LLM: model <code>pronielts-small</code>');
    expect(html).toContain('data-testid="llm-note">a small base model for trying the pipeline</p>');
    expect(renderHtml(data({ llm: { model: 'llama3.1:8b', host: 'h', note: null } }))).not.toContain(
      'llm-note',
    );
  });
});

describe('quality gate section', () => {
  const v = (id: string, status: string, ...rules: string[]) => ({
    item_id: id,
    status,
    reasons: rules.map((rule) => ({ rule, detail: `${rule} on ${id}` })),
  });
  const texts = new Map([
    ['a', { kind: 'follow_up', text: 'questions: I live in the city?' }],
    ['b', { kind: 'follow_up', text: 'questions: <b>Why?</b>' }],
    ['c', { kind: 'segment', text: 'I live in a small apartment.' }],
  ]);

  it('ranks rules by the items they fired on, rejections and flags apart, one example each', () => {
    const g = gateRules(
      [
        v('a', 'rejected', 'question_form', 'question_form'),
        v('b', 'rejected', 'question_form', 'repetition'),
        v('c', 'needs_review', 'topic_words'),
        v('d', 'approved'),
      ],
      texts,
    );
    expect(g.map((r) => [r.rule, r.outcome, r.items])).toEqual([
      ['question_form', 'rejected', 2],
      ['repetition', 'rejected', 1],
      ['topic_words', 'needs_review', 1],
    ]);
    expect(g[0]?.example).toEqual({
      id: 'a',
      kind: 'follow_up',
      detail: 'question_form on a',
      text: 'questions: I live in the city?',
    });
  });

  it('renders the rules with their example, escaped, or says none fired', () => {
    const gate = gateRules([v('b', 'rejected', 'repetition')], texts);
    const html = renderHtml(data({ gate }));
    expect(html).toContain('data-rule="repetition"');
    expect(html).toContain('&lt;b&gt;Why?&lt;/b&gt;');
    expect(renderHtml(data())).toContain('no rule fired');
  });
});
