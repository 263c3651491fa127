import { Listr } from 'listr2';
import { downloadText, outcomeText, progressText } from './format.ts';
import { checkLine, type View } from './view.ts';

/**
 * On a terminal: listr2's live renderer, one task per step with a progress bar in its output line. Each
 * step is its own Listr so that the runner, not listr2, decides what runs next and what a failure means.
 */
export function ttyView(): View {
  const one = async <T>(
    title: string,
    fn: (setOutput: (s: string) => void, setTitle: (s: string) => void) => Promise<T>,
    failed: (r: T) => boolean,
  ) => {
    let result: T | undefined;
    const list = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            result = await fn(
              (s) => {
                task.output = s;
              },
              (s) => {
                task.title = s;
              },
            );
            if (failed(result)) throw new Error(task.title);
          },
          rendererOptions: { persistentOutput: false },
        },
      ],
      { exitOnError: false, registerSignalListeners: false, rendererOptions: { showErrorMessage: false } },
    );
    await list.run().catch(() => undefined);
    return result as T;
  };
  return {
    checks(checks) {
      for (const c of checks) process.stdout.write(`${checkLine(c)}\n`);
    },
    download(title, fn) {
      return one(
        title,
        (setOutput, setTitle) =>
          fn((got, total) => setOutput(downloadText(got, total))).then((r) => {
            setTitle(checkLine(r).split('\n')[0] ?? title);
            return r;
          }),
        (r) => !r.ok,
      );
    },
    stage(name, fn) {
      return one(
        name,
        (setOutput, setTitle) =>
          fn((e) => setOutput(progressText(e))).then((o) => {
            setTitle(outcomeText(o));
            return o;
          }),
        (o) => o.exitCode !== 0,
      );
    },
    print(text) {
      process.stdout.write(`${text}\n`);
    },
  };
}
