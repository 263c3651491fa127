/**
 * Release lines: one JSON object per item, in item id order. A release is the previous release with the
 * run's change applied, so one kind's file is a merge of two id-ordered streams: the previous release's
 * lines and the lines the run has now.
 */

/** A line's item: its id, the run that published it, and its provenance. */
interface Item {
  id: string;
  run_id: string;
  model?: string | null;
  prompt_version?: string | null;
}

/** A line the run has now, with its item's fields. */
interface RunLine extends Item {
  line: string;
}

/** What one release holds and how it differs from the previous one; filled in as lines are merged. */
export class Tally {
  added = 0;
  changed = 0;
  removed = 0;
  readonly counts: Record<string, number> = {};
  readonly runCounts: Record<string, number> = {};
  readonly models = new Set<string>();
  readonly promptVersions = new Set<string>();

  count(kind: string, item: Item): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    this.runCounts[item.run_id] = (this.runCounts[item.run_id] ?? 0) + 1;
    if (item.model) this.models.add(item.model);
    if (item.prompt_version) this.promptVersions.add(item.prompt_version);
  }

  get changes(): number {
    return this.added + this.changed + this.removed;
  }
}

/** Write in chunks of about this many characters rather than a line at a time. */
const CHUNK = 64 * 1024;

/**
 * One kind's file of the next release: the previous release's `previous` lines, with `runId`'s lines
 * replaced by the lines it has now (`next`, in batches). An item in both is the run's version (changed
 * when its line differs); a previous line of `runId` the run no longer has is removed; lines of other
 * runs stay as they are. Yields newline-terminated text in chunks.
 */
export async function* mergeLines(
  kind: string,
  previous: AsyncIterable<string>,
  next: AsyncIterable<RunLine[]>,
  runId: string,
  tally: Tally,
): AsyncGenerator<string> {
  const prev = ordered(parsed(previous), (x) => x.item.id, `the previous release's ${kind} lines`);
  const run = ordered(flat(next), (x) => x.id, `the run's ${kind} rows`);
  let p = await prev.next();
  let n = await run.next();
  let out = '';
  const emit = (line: string, item: Item) => {
    tally.count(kind, item);
    out += `${line}\n`;
  };
  while (!p.done || !n.done) {
    if (!n.done && (p.done || n.value.id <= p.value.item.id)) {
      const line = n.value.line;
      if (!p.done && p.value.item.id === n.value.id) {
        if (p.value.line !== line) tally.changed++;
        p = await prev.next();
      } else tally.added++;
      emit(line, n.value);
      n = await run.next();
    } else if (!p.done) {
      if (p.value.item.run_id === runId) tally.removed++;
      else emit(p.value.line, p.value.item);
      p = await prev.next();
    }
    if (out.length >= CHUNK) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}

async function* flat<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

async function* parsed(lines: AsyncIterable<string>): AsyncGenerator<{ item: Item; line: string }> {
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line) continue;
    let item: Item;
    try {
      item = JSON.parse(line) as Item;
    } catch {
      throw new Error(`the previous release's line ${n} is not JSON: ${line.slice(0, 80)}`);
    }
    yield { item, line };
  }
}

/** Passes items through, refusing any whose id is not greater than the one before (a merge needs order). */
async function* ordered<T>(items: AsyncIterable<T>, idOf: (x: T) => string, what: string): AsyncGenerator<T> {
  let last: string | undefined;
  for await (const x of items) {
    const id = idOf(x);
    if (last !== undefined && !(id > last))
      throw new Error(`${what} are not in id order: ${last} before ${id}`);
    last = id;
    yield x;
  }
}
