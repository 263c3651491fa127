/**
 * Runs the Ollama test server standalone; every generation request gets the `auto` behaviour.
 *   node src/cli.ts [--port 11434] [--host 127.0.0.1] [--models a,b] [--slots N] [--per-token-ms N] [--version V]
 * Prints the URL on stdout; stops on SIGTERM / SIGINT.
 */
import { parseArgs } from 'node:util';
import { startOllamaTestServer } from './server.ts';

const usage =
  'usage: node src/cli.ts [--port 11434] [--host 127.0.0.1] [--models a,b] [--slots N] [--per-token-ms N] [--version V]';

function nonNegative(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new Error(
      `--${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

async function main(argv: string[]): Promise<number> {
  let options: Parameters<typeof startOllamaTestServer>[0];
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        models: { type: 'string' },
        slots: { type: 'string' },
        'per-token-ms': { type: 'string' },
        version: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    const slots = nonNegative('slots', values.slots, true);
    if (slots === 0) throw new Error('--slots must be at least 1');
    options = {
      port: nonNegative('port', values.port, true) ?? 11434,
      host: values.host ?? '127.0.0.1',
      slots,
      perTokenMs: nonNegative('per-token-ms', values['per-token-ms'], false),
      version: values.version,
      models: values.models
        ?.split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  const server = await startOllamaTestServer(options);
  process.stdout.write(`${server.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await server.close();
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
