import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dbConfigFrom, sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { type Db, openDb } from '@pronielts/shared/db';
import { createObjectStore, readManifest } from '@pronielts/shared/storage';
import { requireFile, requireTool, wordErrorRate } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReport, runRunner, SAMPLE, STAGES, xcom } from './helpers.ts';

// README command one with real models: the runner on the bundled sample, with embedded defaults (PGlite,
// the folder store), the real Whisper base model (scripts/whisper-base-model) and no Ollama configured,
// so the runner starts the project's Ollama serving Gemma 3 270M (scripts/small-llm). The transcript's
// words and turns are asserted; the small model's labels and texts are not (it is weak by nature): every
// classification and generated item must be stored, and every one the gate did not approve must carry
// rule ids. Slow by nature (a real LLM on CPU): a few minutes.

const WHISPER_CLI = requireFile('whisper-cli', 'WHISPER_CLI', 'scripts/build-whisper builds it');
const BASE_MODEL = requireFile(
  'whisper base model',
  'WHISPER_BASE_MODEL',
  'scripts/whisper-base-model makes it',
);
const OLLAMA_BIN = requireFile("the project's Ollama", 'OLLAMA_BIN', 'scripts/build-ollama builds it');
const TOOLS = process.env.PRONIELTS_TOOLS ?? path.join(os.homedir(), '.cache', 'pronielts', 'tools');
const MODELFILE = path.join(TOOLS, 'llm-gemma3-270m-q4km', 'Modelfile');
const SMALL = requireTool(
  'the small LLM (Gemma 3 270M)',
  fs.existsSync(MODELFILE) ? undefined : `${MODELFILE} is missing; scripts/small-llm installs it`,
);
const ready = Boolean(WHISPER_CLI && BASE_MODEL && OLLAMA_BIN && SMALL);

const TURNS = fs
  .readFileSync(path.resolve(import.meta.dirname, '../../../samples/ielts-part1-sample.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => ({ turn: l.startsWith('examiner:') ? 'question' : 'answer', text: l.replace(/^\w+: /, '') }));

describe.skipIf(!ready)(
  'README command one with real models (Whisper base, Gemma 3 270M)',
  // A guard, not a target: ~10 min on a quiet 2-core machine, much longer while other jobs share the cores.
  { timeout: 1_500_000 },
  () => {
    let dir: string;
    let dataDir: string;
    let out: string;
    let code: number | null;
    let db: Db;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-real-'));
      dataDir = path.join(dir, '.pronielts');
      const r = await runRunner(
        ['run', SAMPLE, '--run-id', 'real'],
        {
          PRONIELTS_DATA_DIR: dataDir,
          PRONIELTS_TOOLS: TOOLS,
          OLLAMA_BIN: OLLAMA_BIN ?? '',
          WHISPER_CLI: WHISPER_CLI ?? '',
          WHISPER_MODEL: 'base',
          WHISPER_MODEL_DIR: path.dirname(BASE_MODEL ?? ''),
          WHISPER_THREADS: '2',
          // The small base model writes until its token limit (loops, repeats): lower limits keep this
          // test to minutes without changing what it asserts (a cut-off answer is a recorded rejection).
          PARAPHRASE_NUM_PREDICT: '450',
          GENERATE_NUM_PREDICT: '300',
        },
        dir,
      );
      out = r.out;
      code = r.code;
      db = await openDb(dbConfigFrom(sharedEnv.parse({ PRONIELTS_DATA_DIR: dataDir })));
    }, 1_500_000);
    afterAll(async () => {
      await db?.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('runs every stage with the embedded Ollama and says the small model served', () => {
      expect(code, out.split('\n').slice(-30).join('\n')).toBe(0);
      expect(out).toContain('pronielts-small');
      expect(out).toContain('for trying the pipeline');
      const report = readReport(path.join(dataDir, 'reports', 'real.html'));
      expect(report.llm?.model).toBe('pronielts-small');
      expect(report.llm?.note).toContain('llama3.1:8b or better');
      for (const s of STAGES) expect(xcom(dataDir, 'real', s).counts, s).toBeDefined();
    });

    it('transcribes the sample word for word with its turns, and publishes its classified segments', async () => {
      const segments = await db
        .selectFrom('segments')
        .select(['id', 'text', 'turn'])
        .orderBy('idx')
        .execute();
      expect(segments.map((s) => s.turn)).toEqual(TURNS.map((t) => t.turn));
      const said = segments.map((s) => s.text).join(' ');
      expect(wordErrorRate(TURNS.map((t) => t.text).join(' '), said), said).toBeLessThanOrEqual(0.05);

      const releaseId = String(xcom(dataDir, 'real', 'export').releaseId);
      expect(releaseId).toMatch(/^rel_/);
      const store = createObjectStore(storageConfigFrom(sharedEnv.parse({ PRONIELTS_DATA_DIR: dataDir })));
      const manifest = await readManifest(store, 'processed', `releases/${releaseId}`);
      const meta = (manifest?.meta ?? {}) as { validation?: { byStatus: Record<string, number> } };
      // every classified segment and generated item of the run is counted under a status
      expect(Object.values(meta.validation?.byStatus ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      const release = path.join(dataDir, 'objects', store.bucketName('processed'), 'releases', releaseId);
      const lines = fs
        .readFileSync(path.join(release, 'segments.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { text: string; turn: string });
      // Every segment is published: with its labels, flagged when they contradict what was measured, or
      // without labels (flagged `unlabelled`) when the classifier refused the small model's.
      expect(lines.map((l) => [l.text, l.turn]).sort()).toEqual(segments.map((s) => [s.text, s.turn]).sort());
    });

    it('stores every classification and generated item, approved or with rule ids', async () => {
      const classifications = await db
        .selectFrom('classifications')
        .select(['segment_id', 'status', 'reject_reason'])
        .execute();
      expect(classifications.length).toBe(TURNS.length);
      for (const c of classifications) if (c.status === 'rejected') expect(c.reject_reason).toBeTruthy();
      const items = await db.selectFrom('generated_items').select(['kind', 'source_segment_id']).execute();
      // The candidate answers reach the paraphraser as answers (the segmenter's turn decides, whatever
      // kind the LLM gave): each gets model answers, or the LLM's output for them was rejected with a
      // reason, or its classification was (a segment without labels is not paraphrased).
      const answers = await db.selectFrom('segments').select('id').where('turn', '=', 'answer').execute();
      const llmRejections = await db.selectFrom('llm_rejections').select(['task', 'subject']).execute();
      for (const a of answers) {
        const made = items.filter((i) => i.source_segment_id === a.id && i.kind === 'model_answer').length;
        const refused = llmRejections.filter((r) => r.task === 'model_answer' && r.subject === a.id).length;
        const unlabelled = classifications.filter(
          (c) => c.segment_id === a.id && c.status === 'rejected',
        ).length;
        expect(made + refused + unlabelled, `model answers for ${a.id}`).toBeGreaterThan(0);
      }
      const validations = await db.selectFrom('validations').select(['status', 'reasons']).execute();
      expect(validations.length).toBe(items.length + classifications.length);
      for (const v of validations) {
        if (v.status === 'approved') expect(v.reasons).toEqual([]);
        else expect(v.reasons.length).toBeGreaterThan(0);
        for (const r of v.reasons) expect(r.rule).toMatch(/^[a-z_]+$/);
      }
    });
  },
);
