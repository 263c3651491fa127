/**
 * Writes the tiny random-weight whisper model to a file (atomically).
 *   node src/cli.ts <out-path> [--seed N] [--multilingual]
 * Prints the absolute path of the written file.
 */
import { parseArgs } from 'node:util';
import { writeTinyWhisperModel } from './write-model.ts';

const usage = 'usage: node src/cli.ts <out-path> [--seed N] [--multilingual]';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const out = parsed.positionals[0];
  if (!out || parsed.positionals.length > 1) {
    console.error(usage);
    return 2;
  }
  const seedText = parsed.values.seed ?? '1';
  const seed = Number(seedText);
  if (!/^-?\d+$/.test(seedText) || !Number.isSafeInteger(seed)) {
    console.error(`--seed must be an integer, got ${JSON.stringify(seedText)}`);
    return 2;
  }
  const path = await writeTinyWhisperModel(out, { seed, multilingual: parsed.values.multilingual ?? false });
  process.stdout.write(`${path}\n`);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      multilingual: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
