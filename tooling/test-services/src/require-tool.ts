import fs from 'node:fs';

/** Whether this is a CI run (CI set, and not to "0" or "false"). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI?.trim().toLowerCase();
  return !!v && v !== '0' && v !== 'false';
}

/**
 * Whether a suite's tool is there, for `describe.skipIf(!requireTool(...))`. scripts/setup installs
 * every tool a suite asks for, so under CI a missing one is a broken setup: this throws, naming the tool
 * and why it is missing, and the test file fails. Elsewhere (a developer without the tool) the suite
 * skips and says why on stderr.
 */
export function requireTool(
  tool: string,
  missing: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (!missing) return true;
  if (isCi(env))
    throw new Error(
      `${tool} is missing: ${missing} (scripts/setup installs it; under CI a missing tool fails)`,
    );
  process.stderr.write(`skipping the suites that need ${tool}: ${missing}\n`);
  return false;
}

/**
 * The file a suite needs, from an env variable scripts/test sets (a tool setup makes), or undefined when
 * it is not there; as {@link requireTool}, under CI that throws instead.
 */
export function requireFile(
  tool: string,
  variable: string,
  hint: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const file = env[variable];
  const missing =
    file && fs.existsSync(file) ? undefined : `${variable} (${file ?? 'unset'}) is not a file; ${hint}`;
  return requireTool(tool, missing, env) ? file : undefined;
}
