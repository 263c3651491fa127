/**
 * Runs `fn` over `items` with at most `concurrency` in flight, stopping when `signal` aborts. A thrown
 * error (a stage error: a dependency is down) stops new work, lets the items in flight settle, then is
 * rethrown, so the caller never tears down connections under running work. Returns how many ran.
 */
export async function forEachConcurrent<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  fn: (item: T, index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  let done = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!signal.aborted && !failure) {
      const i = next++;
      if (i >= items.length) return;
      try {
        await fn(items[i] as T, i);
        done++;
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.err;
  return done;
}
