import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BUCKETS, type BucketId, storageConfigFrom } from '../config/index.ts';
import { EXIT, exitCodeFor, StageError, toStageError } from '../errors.ts';
import { createLogger, createRedactor, describeError } from '../log/index.ts';
import { loadToolEnv } from '../log/tool-env.ts';
import { createObjectStore } from './index.ts';

const HELP = `Usage: pronielts-buckets [ensure] [--wait SECONDS] [--upload-expiry-days DAYS]

Creates the buckets pronielts-raw, pronielts-transcriptions and pronielts-processed (each with
MINIO_BUCKET_PREFIX in front, if set) on MINIO_ENDPOINT, or as folders under PRONIELTS_DATA_DIR when
MINIO_ENDPOINT is unset. Buckets that exist are left alone, so running it again is a no-op.
Then makes incomplete multipart uploads (a process killed mid-upload leaves one) expire: a lifecycle
rule AbortIncompleteMultipartUpload on each bucket where the server takes one (MinIO expires them
itself), and an abort of those already older.

  --wait SECONDS              keep retrying while the server is unreachable or not ready, up to SECONDS (default 0)
  --upload-expiry-days DAYS   age at which incomplete uploads go (default 1)

Exit codes: 0 done · 2 bad usage or configuration · 75 storage unavailable · 1 anything else
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' },
      wait: { type: 'string' },
      'upload-expiry-days': { type: 'string' },
    },
    allowPositionals: true,
  });
}

/** `pronielts-buckets`: the bucket-init job of k8s/ and compose.yaml. Returns the exit code. */
export async function bucketsCli(argv: string[]): Promise<number> {
  const boot = createLogger({ base: { stage: 'buckets' } });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    boot.error((err as Error).message);
    return EXIT.invalidInput;
  }
  const { positionals, values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const command = positionals[0] ?? 'ensure';
  const waitS = Number(values.wait ?? 0);
  if (command !== 'ensure' || positionals.length > 1) {
    boot.error(`unknown command ${JSON.stringify(positionals.join(' '))} (expected ensure)`);
    return EXIT.invalidInput;
  }
  if (!Number.isFinite(waitS) || waitS < 0) {
    boot.error(`--wait: expected a number of seconds, got ${JSON.stringify(values.wait)}`);
    return EXIT.invalidInput;
  }
  const expiryDays = Number(values['upload-expiry-days'] ?? 1);
  if (!Number.isInteger(expiryDays) || expiryDays < 1) {
    boot.error(
      `--upload-expiry-days: expected a whole number of days >= 1, got ${JSON.stringify(values['upload-expiry-days'])}`,
    );
    return EXIT.invalidInput;
  }
  const tool = loadToolEnv('buckets', boot);
  if (!tool) return EXIT.invalidInput;
  const { env, secrets, log } = tool;
  const store = createObjectStore(storageConfigFrom(env));
  const names = (Object.keys(BUCKETS) as BucketId[]).map((b) => store.bucketName(b));
  const deadline = Date.now() + waitS * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.ensureBuckets();
      log.info({ store: store.location, buckets: names, attempt }, 'buckets ready');
      const expiry = await store.expireIncompleteUploads(expiryDays);
      const unsupported = Object.entries(expiry.rule)
        .filter(([, r]) => r === 'unsupported')
        .map(([b]) => b);
      log.info(
        { store: store.location, rule: expiry.rule, aborted: expiry.aborted, days: expiryDays },
        unsupported.length > 0
          ? `incomplete uploads older than ${expiryDays} d aborted; the server refuses the lifecycle rule (MinIO expires stale uploads itself; elsewhere run this again to sweep)`
          : `incomplete uploads expire after ${expiryDays} d`,
      );
      return EXIT.ok;
    } catch (err) {
      const se = err instanceof StageError ? err : toStageError(err);
      if (se.retryable && Date.now() < deadline) {
        // Waits on the condition (the server answering), polling every 2 s, never a fixed sleep.
        log.info({ store: store.location, attempt, code: se.code }, 'storage not ready, retrying');
        await sleep(Math.min(2000, Math.max(0, deadline - Date.now())));
        continue;
      }
      const code = exitCodeFor(se);
      log.error(
        { code: se.code, err: describeError(err, createRedactor(secrets)), exitCode: code },
        'creating buckets failed',
      );
      return code;
    }
  }
}
