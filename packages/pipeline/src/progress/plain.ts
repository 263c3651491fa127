import type { Writable } from 'node:stream';
import { downloadText, outcomeText, progressText } from './format.ts';
import { checkLine, type View } from './view.ts';

/** Off a terminal: one plain line per event, prefixed, no escape codes, at most one line per 10% of a download. */
export function plainView(out: Writable = process.stdout): View {
  const say = (s: string) => out.write(`pipeline: ${s}\n`);
  return {
    checks(checks) {
      for (const c of checks) for (const l of checkLine(c).split('\n')) say(l);
    },
    async download(title, fn) {
      say(`${title}: starting`);
      let next = 0;
      const result = await fn((got, total) => {
        if (total && got / total >= next) {
          say(`${title}: ${downloadText(got, total)}`);
          next = Math.floor((got / total) * 10 + 1) / 10;
        }
      });
      for (const l of checkLine(result).split('\n')) say(l);
      return result;
    },
    async stage(name, fn) {
      say(`${name}: started`);
      const outcome = await fn((e) => say(`${name}: ${progressText(e)}`));
      say(outcomeText(outcome));
      return outcome;
    },
    print(text) {
      out.write(`${text}\n`);
    },
  };
}
