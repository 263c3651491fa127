import type { ProgressEvent, StageOutcome } from '../execute.ts';
import type { Check } from '../preconditions.ts';

/** How the runner shows what it does: live bars on a terminal, plain lines elsewhere. */
export interface View {
  checks(checks: Check[]): void;
  download(title: string, fn: (tick: (got: number, total: number) => void) => Promise<Check>): Promise<Check>;
  stage(
    name: string,
    fn: (progress: (e: ProgressEvent) => void) => Promise<StageOutcome>,
  ): Promise<StageOutcome>;
  /** A line of text after the live part (summary table, report path). */
  print(text: string): void;
}

export function checkLine(c: Check): string {
  return c.ok ? `ok    ${c.name}: ${c.detail}` : `FAIL  ${c.name}: ${c.detail}\n      → ${c.fix ?? ''}`;
}
