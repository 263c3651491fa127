import { barChart, esc } from './charts.ts';
import type { ReportData } from './data.ts';

const secs = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
export const timestamp = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.${String(Math.floor((ms % 1000) / 100))}`;
};
const reasonsHtml = (r: Record<string, number>) =>
  Object.keys(r).length === 0
    ? '<span class="muted">—</span>'
    : Object.entries(r)
        .sort(([, a], [, b]) => b - a)
        .map(([k, v]) => `<span class="reason">${esc(k)} × ${v}</span>`)
        .join(' ');

const CSS = `
:root{--fg:#1d2330;--muted:#6b7280;--line:#e5e7eb;--accent:#2563eb;--ok:#15803d;--bad:#b91c1c;--bg:#fafafa}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1080px;margin:0 auto;padding:24px 28px 48px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0}.banner{margin:16px 0;padding:10px 14px;border-radius:6px;background:#eef2ff}.banner.fail{background:#fee2e2;color:var(--bad)}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600;background:#f3f4f6}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.reason{display:inline-block;margin:0 4px 2px 0;padding:0 6px;border-radius:4px;background:#fef3c7;font-size:13px}
.muted{color:var(--muted)}.ok{color:var(--ok)}.bad{color:var(--bad)}.charts{display:flex;flex-wrap:wrap;gap:16px}
figure.chart{margin:0;padding:12px;background:#fff;border:1px solid var(--line);border-radius:6px}figcaption{font-weight:600;margin-bottom:6px}
svg text{font:13px system-ui,sans-serif;fill:var(--fg)}svg rect{fill:var(--accent)}svg text.value{fill:var(--muted)}
.transcript td.ts{white-space:nowrap;font-family:ui-monospace,monospace;color:var(--muted)}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px}.card h3{font-size:15px;margin:0 0 6px}.card dl{margin:0}.card dt{font-weight:600;font-size:13px;color:var(--muted)}.card dd{margin:0 0 6px}
code{font-family:ui-monospace,monospace;font-size:13px;background:#f3f4f6;padding:1px 4px;border-radius:3px;word-break:break-all}
`;

/** The run report: one self-contained HTML file (inline CSS and SVG, no script, no network). */
export function renderHtml(d: ReportData): string {
  const stageRows = d.stages
    .map((s) => {
      const status =
        s.exitCode === null
          ? '<span class="muted">not run</span>'
          : s.exitCode === 0
            ? `<span class="ok">ok</span>${s.thisTime && !s.thisTime.newWork ? ' <span class="muted">(nothing new)</span>' : ''}`
            : `<span class="bad">exit ${s.exitCode}</span>`;
      return `<tr data-stage="${esc(s.name)}"><td>${esc(s.name)}</td><td>${status}</td><td class="num">${secs(s.wallMs)}</td><td class="num">${secs(s.durationMs)}</td><td class="num" data-col="in">${s.in}</td><td class="num" data-col="out">${s.out}</td><td class="num" data-col="rejected">${s.rejected}</td><td>${reasonsHtml(s.reasons)}</td></tr>`;
    })
    .join('');
  const t = d.transcript;
  const transcript = t
    ? `<p class="meta">media <code>${esc(t.mediaId.slice(0, 16))}…</code> from <code>${esc(t.source)}</code> · model ${esc(t.model)} · ${esc(t.status)} · ${t.totalSegments} segment(s)${t.segments.length < t.totalSegments ? `, first ${t.segments.length} shown` : ''}</p>
<table class="transcript" data-testid="transcript"><thead><tr><th>time</th><th>turn</th><th>text</th></tr></thead><tbody>${t.segments
        .map(
          (s) =>
            `<tr><td class="ts">${timestamp(s.startMs)} – ${timestamp(s.endMs)}</td><td>${esc(s.turn ?? '')}</td><td>${esc(s.text)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted" data-testid="transcript">no transcript in this run</p>';
  const samples = d.samples.length
    ? `<div class="cards" data-testid="samples">${d.samples
        .map(
          (s) =>
            `<article class="card" data-kind="${esc(s.kind)}"><h3>${esc(s.kind.replace('_', ' '))}${s.topic ? ` · ${esc(s.topic)}` : ''}${s.targetBand ? ` · band ${esc(s.targetBand)}` : ''}</h3><p class="${s.status === 'approved' ? 'ok' : s.status === 'rejected' ? 'bad' : 'muted'}">${esc(s.status)}${s.reasons.length ? `: ${esc(s.reasons.join('; '))}` : ''}</p><dl>${s.fields
              .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
              .join('')}</dl></article>`,
        )
        .join('')}</div>`
    : '<p class="muted" data-testid="samples">no generated items in this run</p>';
  const gate = d.gate.length
    ? `<table data-testid="gate"><thead><tr><th>rule</th><th>outcome</th><th class="num">items</th><th>example</th></tr></thead><tbody>${d.gate
        .map(
          (g) =>
            `<tr data-rule="${esc(g.rule)}"><td><code>${esc(g.rule)}</code></td><td class="${g.outcome === 'rejected' ? 'bad' : 'muted'}">${esc(g.outcome.replace('_', ' '))}</td><td class="num">${g.items}</td><td><strong>${esc(g.example.kind.replace('_', ' '))}</strong>: ${esc(g.example.detail)}<br><span class="muted">${esc(g.example.text)}</span></td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted" data-testid="gate">no rule fired: every validated item was approved</p>';
  const r = d.release;
  const release = r
    ? `<dl data-testid="release"><dt>release id</dt><dd><code>${esc(r.id)}</code></dd><dt>stored at</dt><dd><code>${esc(r.location)}</code></dd><dt>items</dt><dd>${r.itemCount} (${esc(
        Object.entries(r.counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      )})</dd></dl>`
    : '<p class="muted" data-testid="release">no release contains this run yet</p>';
  const banner = d.failure
    ? `<p class="banner fail" data-testid="banner">${esc(d.failure)}</p>`
    : d.noWork
      ? '<p class="banner" data-testid="banner">Nothing to do: every stage found its work already done (this run had finished before).</p>'
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>PronIELTS run ${esc(d.runId)}</title><style>${CSS}</style></head>
<body><main>
<h1>PronIELTS pipeline run <code data-testid="run-id">${esc(d.runId)}</code></h1>
<p class="meta">${esc(d.generatedAt)} · total ${secs(d.totalMs)} · database ${esc(d.db)} · storage <code>${esc(d.storage)}</code></p>
${banner}
${
  d.llm
    ? `<p class="meta" data-testid="llm">LLM: model <code>${esc(d.llm.model)}</code> at <code>${esc(d.llm.host)}</code>${d.llm.note ? `</p><p class="banner" data-testid="llm-note">${esc(d.llm.note)}` : ''}</p>`
    : ''
}
<h2>Stages</h2>
<p class="meta">Time is this invocation's (process wall time and the stage's own). Counts are the run's items at each stage, from the database.</p>
<table data-testid="stages"><thead><tr><th>stage</th><th>status</th><th class="num">wall</th><th class="num">stage</th><th class="num">in</th><th class="num">out</th><th class="num">rejected</th><th>rejection reasons</th></tr></thead><tbody>${stageRows}</tbody></table>
<h2>Transcript excerpt</h2>
${transcript}
<h2>Classification</h2>
<div class="charts" data-testid="charts">${barChart('IELTS part', d.distributions.part, { id: 'part' })}${barChart('Topic', d.distributions.topic, { id: 'topic' })}${barChart('Band', d.distributions.band, { id: 'band', numeric: true })}</div>
<h2>Sample generated items</h2>
${samples}
<h2>Quality gate</h2>
<p class="meta">The rules that fired on most of this run's items, with one example each (docs/quality-gate.md). Rejected items are never published; needs_review items are published, flagged for a reviewer.</p>
${gate}
<h2>Release</h2>
${release}
</main></body></html>
`;
}
