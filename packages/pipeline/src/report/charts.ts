/** SVG bar charts drawn by code: no script, no CDN, so the report is one file that opens anywhere. */

export const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Bands sort as numbers, everything else by count (largest first), then name. */
export function orderEntries(data: Record<string, number>, numeric = false): Array<[string, number]> {
  return Object.entries(data).sort(([a, x], [b, y]) =>
    numeric ? Number(a) - Number(b) || a.localeCompare(b) : y - x || a.localeCompare(b),
  );
}

export function barChart(
  title: string,
  data: Record<string, number>,
  opts: { numeric?: boolean; id: string },
): string {
  const entries = orderEntries(data, opts.numeric);
  if (entries.length === 0) {
    return `<figure class="chart" data-chart="${esc(opts.id)}"><figcaption>${esc(title)}</figcaption><p class="empty">no classified segments</p></figure>`;
  }
  const max = Math.max(...entries.map(([, v]) => v));
  const rowH = 26;
  const labelW = 150;
  const barW = 260;
  const h = entries.length * rowH + 8;
  const rows = entries
    .map(([k, v], i) => {
      const y = i * rowH + 4;
      const w = Math.max(2, Math.round((v / max) * barW));
      return (
        `<g class="bar" data-label="${esc(k)}" data-value="${v}">` +
        `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(k)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" rx="3"></rect>` +
        `<text x="${labelW + w + 6}" y="${y + 17}" class="value">${v}</text></g>`
      );
    })
    .join('');
  return (
    `<figure class="chart" data-chart="${esc(opts.id)}"><figcaption>${esc(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 50}" height="${h}" role="img" aria-label="${esc(title)}">${rows}</svg></figure>`
  );
}
