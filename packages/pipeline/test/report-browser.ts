import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM, RESULTS, STAGES, type Summary } from './helpers.ts';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: scripts/setup installs Debian's chromium (or set CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/**
 * Opens the HTML report in real headless Chromium, checks what a reader sees against the stage summaries
 * and the release, and saves a full-page screenshot under test-results/.
 */
export async function checkReportInBrowser(
  browser: Browser,
  file: string,
  expected: { runId: string; releaseId: string; summaries: Record<string, Summary>; screenshot: string },
): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  try {
    await page.goto(`file://${file}`);
    expect(await page.title()).toBe(`PronIELTS run ${expected.runId}`);
    expect(await page.textContent('[data-testid=run-id]')).toBe(expected.runId);

    // Stages: one row each, all ok, counts as the stages reported them.
    const rows = page.locator('[data-testid=stages] tbody tr');
    expect(await rows.count()).toBe(STAGES.length);
    for (const stage of STAGES) {
      const row = page.locator(`[data-testid=stages] tr[data-stage=${stage}]`);
      expect(await row.locator('td').nth(1).textContent()).toMatch(/^ok/);
    }
    const cell = (stage: string, col: string) =>
      page.locator(`tr[data-stage=${stage}] td[data-col=${col}]`).textContent().then(Number);
    const s = expected.summaries;
    expect(await cell('ingest', 'in')).toBe(s.ingest?.counts.in);
    expect(await cell('classify', 'out')).toBe(s.classify?.counts.out);
    expect(await cell('validate', 'in')).toBe(s.validate?.counts.in);
    expect(await cell('validate', 'rejected')).toBe(s.validate?.counts.rejected);
    for (const reason of Object.keys(s.validate?.rejections ?? {})) {
      expect(await page.locator('tr[data-stage=validate]').textContent()).toContain(reason);
    }

    // Transcript excerpt with timestamps.
    const tsCells = await page.locator('[data-testid=transcript] td.ts').allInnerTexts();
    expect(tsCells.length).toBeGreaterThan(0);
    for (const t of tsCells) expect(t).toMatch(/^\d\d:\d\d\.\d – \d\d:\d\d\.\d$/);

    // Charts: three SVG charts; each adds up to the segments the classifier classified.
    for (const chart of ['part', 'topic', 'band']) {
      const values = await page
        .locator(`[data-chart=${chart}] g.bar`)
        .evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-value'))));
      expect(values.reduce((a, b) => a + b, 0)).toBe(s.classify?.counts.out);
      const box = await page.locator(`[data-chart=${chart}] svg`).boundingBox();
      expect(box?.width).toBeGreaterThan(100);
    }

    // Sample items and the release.
    expect(await page.locator('[data-testid=samples] article').count()).toBeGreaterThan(0);
    const release = await page.locator('[data-testid=release]').textContent();
    expect(release).toContain(expected.releaseId);
    expect(release).toContain('releases/');

    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]); // self-contained
    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, expected.screenshot), fullPage: true });
  } finally {
    await page.close();
  }
}
