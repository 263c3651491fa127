import type { ReportData } from './data.ts';

/** The terminal summary: a fixed-width table (no colours, so it reads the same in a CI log). */
export function renderTable(d: ReportData): string {
  const header = ['stage', 'status', 'time', 'in', 'out', 'rejected', 'reasons'];
  const rows = d.stages.map((s) => [
    s.name,
    s.exitCode === null
      ? 'not run'
      : s.exitCode === 0
        ? s.thisTime?.newWork === false
          ? 'ok (nothing new)'
          : 'ok'
        : `exit ${s.exitCode}`,
    s.wallMs === null ? '-' : `${(s.wallMs / 1000).toFixed(1)}s`,
    String(s.in),
    String(s.out),
    String(s.rejected),
    Object.entries(s.reasons)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = new Set([2, 3, 4, 5]);
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
  if (d.release)
    lines.push('', `release ${d.release.id} (${d.release.itemCount} items) at ${d.release.location}`);
  else lines.push('', 'no release contains this run yet');
  return lines.join('\n');
}
