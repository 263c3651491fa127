import { StageError } from '../errors.ts';
import type { Logger } from '../log/index.ts';

export interface Shutdown {
  /** Aborted at the first SIGTERM/SIGINT: the work stops taking items and winds down. */
  signal: AbortSignal;
  /** Settles with the reason when the work may run no longer: the grace period is over, or a second signal came. */
  overdue: Promise<string>;
  dispose(): void;
}

/** SIGTERM/SIGINT handling: the first signal asks the work to wind down within `graceMs`. */
export function watchSignals(graceMs: number, log: Logger): Shutdown {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let overdue: (why: string) => void = () => {};
  const whenOverdue = new Promise<string>((resolve) => {
    overdue = resolve;
  });
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      overdue(`second signal (${sig})`);
      return;
    }
    log.warn({ signal: sig, grace_ms: graceMs }, 'stopping: no new items, finishing the current one');
    ac.abort(new StageError('interrupted', `received ${sig}`));
    timer = setTimeout(() => overdue('grace period over'), graceMs);
    timer.unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: ac.signal,
    overdue: whenOverdue,
    dispose: () => {
      if (timer) clearTimeout(timer);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
