import { type Kysely, sql } from 'kysely';
import type { Database } from '../../contracts/rows.ts';

export interface SegmentToClassify {
  id: string;
  text: string;
  turn: string | null;
  start_ms: number;
  end_ms: number;
  transcript_id: string;
  idx: number;
  /** The text of the segment just before it in the same transcript (its context). */
  previous_text: string | null;
}

/** The run's segments (of transcripts that are not rejected) without a classification for this prompt version. */
export async function listSegmentsToClassify(
  db: Kysely<Database>,
  runId: string,
  promptVersion: string,
): Promise<SegmentToClassify[]> {
  const rows = await sql<SegmentToClassify>`
    select s.id, s.text, s.turn, s.start_ms, s.end_ms, s.transcript_id, s.idx,
           (select p.text from segments p where p.transcript_id = s.transcript_id and p.idx = s.idx - 1) as previous_text
    from segments s
    join transcripts t on t.id = s.transcript_id and t.status <> 'rejected'
    where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')
      and not exists (select 1 from classifications c where c.segment_id = s.id and c.prompt_version = ${promptVersion})
    order by s.transcript_id, s.idx`.execute(db);
  return rows.rows;
}

export async function countRunSegments(db: Kysely<Database>, runId: string): Promise<number> {
  const r = await sql<{ n: string }>`
    select count(*)::text as n from segments s
    join transcripts t on t.id = s.transcript_id and t.status <> 'rejected'
    where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')`.execute(
    db,
  );
  return Number(r.rows[0]?.n ?? 0);
}

export interface ClassificationRecord {
  id: string;
  segmentId: string;
  status: 'ok' | 'rejected';
  part?: string;
  kind?: string;
  topic?: string;
  band?: number;
  cefr?: string;
  focus?: string[];
  confidence?: number;
  rationale?: string;
  suspicious: boolean;
  model: string;
  promptVersion: string;
  rawOutput?: string | null;
  rejectReason?: string | null;
}

/** One classification per (segment, prompt version): an upsert, so a retried item never doubles. */
export async function saveClassification(db: Kysely<Database>, c: ClassificationRecord): Promise<void> {
  const row = {
    segment_id: c.segmentId,
    status: c.status,
    part: c.part ?? null,
    kind: c.kind ?? null,
    topic: c.topic ?? null,
    band: c.band ?? null,
    cefr: c.cefr ?? null,
    pronunciation_focus: JSON.stringify(c.focus ?? []),
    confidence: c.confidence ?? null,
    rationale: c.rationale ?? null,
    suspicious: c.suspicious,
    model: c.model,
    prompt_version: c.promptVersion,
    raw_output: c.rawOutput ?? null,
    reject_reason: c.rejectReason ?? null,
  };
  await db
    .insertInto('classifications')
    .values({ id: c.id, ...row })
    .onConflict((oc) => oc.columns(['segment_id', 'prompt_version']).doUpdateSet(row))
    .execute();
}

export interface ClassifiedSegment {
  segment_id: string;
  transcript_id: string;
  idx: number;
  text: string;
  /** The segmenter's turn, measured from the audio: it decides what is a candidate answer. */
  turn: 'question' | 'answer';
  previous_text: string | null;
  part: string;
  kind: string;
  topic: string;
  band: string;
  cefr: string;
  pronunciation_focus: string[];
  suspicious: boolean;
}

/** The run's classified segments, the newest classification of each (what the paraphraser works from). */
export async function listClassifiedSegments(
  db: Kysely<Database>,
  runId: string,
): Promise<ClassifiedSegment[]> {
  const r = await sql<ClassifiedSegment>`
    select * from (
      select distinct on (c.segment_id)
             c.segment_id, s.text, s.turn, s.transcript_id, s.idx, c.status,
             (select p.text from segments p where p.transcript_id = s.transcript_id and p.idx = s.idx - 1) as previous_text,
             c.part, c.kind, c.topic, c.band::text as band, c.cefr, c.pronunciation_focus, c.suspicious
      from classifications c
      join segments s on s.id = c.segment_id
      join transcripts t on t.id = s.transcript_id and t.status <> 'rejected'
      where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')
      order by c.segment_id, c.created_at desc
    ) latest
    where latest.status = 'ok'
    order by latest.transcript_id, latest.idx`.execute(db);
  return r.rows;
}
