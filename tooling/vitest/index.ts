import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings. Unit tests are `*.test.ts`, integration tests `*.int.test.ts` (real
 * PostgreSQL and S3 servers, resolved once by the test-services global setup). Each run also writes a
 * JSON report to test-results/, which scripts/test adds up into one closing line.
 */
const reporters = (name: string) =>
  [['default'], ['json', { outputFile: `test-results/${name}.json` }]] as Array<
    [string, Record<string, unknown>?]
  >;

export function unitConfig() {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
      reporters: reporters('unit') as never,
      passWithNoTests: false,
      // PGlite compiles its WASM on first use, which is slow when the machine's cores are busy.
      hookTimeout: 60_000,
    },
  });
}

export function intConfig() {
  return defineConfig({
    test: {
      include: ['src/**/*.int.test.ts', 'test/**/*.int.test.ts'],
      exclude: ['**/node_modules/**', '**/dist/**'],
      globalSetup: ['@pronielts/test-services/global-setup'],
      reporters: reporters('int') as never,
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  });
}
