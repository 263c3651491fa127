import { setTimeout as sleep } from 'node:timers/promises';
import type { SpawnedStage } from './spawn.ts';

/**
 * Crash injection for a stage: run it once uninterrupted to learn how long its work takes, then, per
 * trial, in a world of its own (a fresh database and buckets), SIGKILL it at a random point of that work,
 * run it again, and check that the work was done exactly once with nothing partial left visible.
 * The random kill delay is the thing under test, not a wait for a condition.
 */
export interface CrashWorld {
  /** Starts the stage on this world. */
  run(): SpawnedStage;
  /** Right after a kill: nothing half-written is visible to readers. */
  afterKill?(): Promise<void>;
  /** After the re-run: every item done exactly once, nothing lost, no orphaned uploads. */
  verify(): Promise<void>;
  teardown(): Promise<void>;
}

export interface CrashTrialOptions {
  /** A fresh world; `trial` is -1 for the uninterrupted reference run. */
  world(trial: number): Promise<CrashWorld>;
  /** Default CRASH_TRIALS, else 10. */
  trials?: number;
  /** Default CRASH_SEED, else from the clock (printed, so a failure can be replayed). */
  seed?: number;
}

export interface CrashTrialReport {
  seed: number;
  /** Per trial: the kill delay and whether the stage was killed or had already finished. */
  outcomes: Array<{ delayMs: number; killed: boolean }>;
}

/** xorshift32: the same seed gives the same kill points. */
export function prng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

const started = (l: Record<string, unknown>) => l.msg === 'starting';

export async function crashTrials(o: CrashTrialOptions): Promise<CrashTrialReport> {
  const trials = o.trials ?? Number(process.env.CRASH_TRIALS ?? 10);
  const seed = o.seed ?? Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

  // The reference: how long the work takes once the process has started.
  const ref = await o.world(-1);
  let workMs: number;
  try {
    const p = ref.run();
    await p.waitForLine(started);
    const t0 = performance.now();
    const code = await p.exit;
    workMs = performance.now() - t0;
    if (code !== 0) throw new Error(`the uninterrupted run exited ${code}:\n${p.lines.slice(-5).join('\n')}`);
    await ref.verify();
  } finally {
    await ref.teardown();
  }

  const rand = prng(seed);
  const outcomes: CrashTrialReport['outcomes'] = [];
  for (let trial = 0; trial < trials; trial++) {
    const w = await o.world(trial);
    try {
      const delayMs = Math.floor(rand() * workMs * 1.1);
      const victim = w.run();
      await victim.waitForLine(started).catch(() => undefined);
      await Promise.race([sleep(delayMs), victim.exit]);
      victim.child.kill('SIGKILL');
      const code = await victim.exit;
      outcomes.push({ delayMs, killed: code !== 0 });
      await w.afterKill?.();
      const again = w.run();
      const rerun = await again.exit;
      if (rerun !== 0) {
        throw new Error(
          `trial ${trial} (seed ${seed}, kill at ${delayMs} ms): the re-run exited ${rerun}:\n${again.lines.slice(-5).join('\n')}`,
        );
      }
      await w.verify();
    } finally {
      await w.teardown();
    }
  }
  return { seed, outcomes };
}
