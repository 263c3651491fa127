import type { ProgressEvent, StageOutcome } from '../execute.ts';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function bar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

export function downloadText(got: number, total: number): string {
  if (!total) return `${mb(got)}`;
  return `${bar(got / total)} ${Math.floor((got / total) * 100)}% ${mb(got)} of ${mb(total)}`;
}

/** "3/7 items" against what the stage planned to do in this process, or a plain count. */
export function progressText(e: ProgressEvent): string {
  const note = e.note ? ` · ${e.note}` : '';
  const p = e.progress;
  if (p?.planned === undefined) return `${p?.done ?? 0} done${note}`;
  if (p.planned > 0) return `${bar(p.done / p.planned)} ${p.done}/${p.planned} items${note}`;
  return `nothing to do${p.skipped > 0 ? `: all ${p.skipped} item(s) done before` : ''}${note}`;
}

export function countsText(o: StageOutcome): string {
  const c = o.summary?.counts;
  if (!c) return '';
  return `in ${c.in ?? 0} · out ${c.out ?? 0} · rejected ${c.rejected ?? 0} · skipped ${c.skipped ?? 0}`;
}

export function outcomeText(o: StageOutcome): string {
  if (o.exitCode !== 0) {
    const msg = o.summary?.error?.message ?? lastMessage(o.tail) ?? 'see the log';
    return `${o.name} failed (exit ${o.exitCode}) after ${seconds(o.wallMs)}: ${msg}`;
  }
  return `${o.name.padEnd(10)} ${countsText(o)} (${seconds(o.wallMs)})`;
}

function lastMessage(tail: string[]): string | undefined {
  for (const raw of [...tail].reverse()) {
    try {
      const l = JSON.parse(raw) as { msg?: string; level?: string };
      if (l.level === 'error' && l.msg) return l.msg;
    } catch {
      if (raw.trim()) return raw.trim();
    }
  }
  return undefined;
}
