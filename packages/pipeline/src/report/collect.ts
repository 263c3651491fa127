import { sql } from 'kysely';
import type { Db } from '@pronielts/shared/db';
import type { ObjectStore } from '@pronielts/shared/storage';
import { didWork, type StageOutcome } from '../execute.ts';
import { STAGE_NAMES } from '../stages.ts';
import type { GateRule, ReportData, SampleItem, StageRow } from './data.ts';

const tally = (values: Iterable<string>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
};
/** "schema_violation: part: invalid…" → "schema_violation". */
const reasonKey = (r: string | null | undefined) => (r ?? 'unknown').split(':')[0]?.trim() || 'unknown';
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

function flatten(payload: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(payload)) {
    if (v === null || v === undefined || k === 'suspicious_instructions') continue;
    const text =
      typeof v === 'string'
        ? v
        : Array.isArray(v) && v.every((x) => typeof x !== 'object')
          ? v.join(' · ')
          : JSON.stringify(v);
    out.push([k, text.length > 400 ? `${text.slice(0, 400)}…` : text]);
  }
  return out;
}

export function releaseLocation(store: ObjectStore, releaseId: string): string {
  const bucket = store.bucketName('processed');
  if (store.location.startsWith('folder:')) {
    return `${store.location.slice('folder:'.length)}/${bucket}/releases/${releaseId}/`;
  }
  return `s3://${bucket}/releases/${releaseId}/ on ${store.location}`;
}

export async function collectReport(
  db: Db,
  store: ObjectStore,
  o: {
    runId: string;
    outcomes: StageOutcome[];
    totalMs: number;
    dbKind: string;
    failure: string | null;
    llm?: ReportData['llm'];
  },
): Promise<ReportData> {
  const { runId } = o;
  const runMedia = await db.selectFrom('run_media').selectAll().where('run_id', '=', runId).execute();
  const mediaIds = [
    ...new Set(runMedia.flatMap((m) => (m.status === 'accepted' && m.media_id ? [m.media_id] : []))),
  ];
  const transcripts = mediaIds.length
    ? await db.selectFrom('transcripts').selectAll().where('media_id', 'in', mediaIds).orderBy('id').execute()
    : [];
  const okTranscripts = transcripts.filter((t) => t.status !== 'rejected');
  const trIds = okTranscripts.map((t) => t.id);
  const segments = trIds.length
    ? await db
        .selectFrom('segments')
        .select(['id', 'transcript_id', 'idx', 'start_ms', 'end_ms', 'text', 'turn'])
        .where('transcript_id', 'in', trIds)
        .orderBy('transcript_id')
        .orderBy('idx')
        .execute()
    : [];
  const segIds = segments.map((s) => s.id);
  const classifications = segIds.length
    ? await db
        .selectFrom('classifications')
        .select(['id', 'segment_id', 'status', 'part', 'kind', 'topic', 'band', 'reject_reason'])
        .where('segment_id', 'in', segIds)
        .execute()
    : [];
  const items = await db
    .selectFrom('generated_items')
    .select(['id', 'kind', 'topic', 'target_band', 'payload', 'task_key'])
    .where('run_id', '=', runId)
    .orderBy('kind')
    .orderBy('id')
    .execute();
  const llmRejections = await db
    .selectFrom('llm_rejections')
    .select(['reason'])
    .where('run_id', '=', runId)
    .execute();
  const validatedIds = [...items.map((i) => i.id), ...classifications.map((c) => c.id)];
  const validations = validatedIds.length
    ? await db
        .selectFrom('validations')
        .select(['item_id', 'status', 'reasons'])
        .where('item_id', 'in', validatedIds)
        .execute()
    : [];
  const validationOf = new Map(validations.map((v) => [v.item_id, v]));
  const release =
    (await db
      .selectFrom('releases')
      .selectAll()
      .where('status', '=', 'complete')
      .where(sql<boolean>`run_ids ? ${runId}`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()) ?? null;
  // The run's own items in the release (a release is cumulative: it also holds other runs' items).
  const inRelease = release?.run_counts[runId] ?? 0;
  // needs_review items are published too, flagged
  const approved = validations.filter((v) => v.status !== 'rejected').length;
  const totals: Record<string, Omit<StageRow, 'name' | 'exitCode' | 'wallMs' | 'durationMs' | 'thisTime'>> = {
    ingest: {
      in: runMedia.length,
      out: runMedia.filter((m) => m.status === 'accepted').length,
      rejected: runMedia.filter((m) => m.status === 'rejected').length,
      reasons: tally(runMedia.filter((m) => m.status === 'rejected').map((m) => reasonKey(m.reject_reason))),
    },
    transcribe: {
      in: mediaIds.length,
      out: okTranscripts.length,
      rejected: transcripts.length - okTranscripts.length,
      reasons: tally(
        transcripts.filter((t) => t.status === 'rejected').map((t) => reasonKey(t.reject_reason)),
      ),
    },
    classify: {
      in: segments.length,
      out: classifications.filter((c) => c.status === 'ok').length,
      rejected: classifications.filter((c) => c.status === 'rejected').length,
      reasons: tally(
        classifications.filter((c) => c.status === 'rejected').map((c) => reasonKey(c.reject_reason)),
      ),
    },
    paraphrase: {
      in: new Set(items.map((i) => i.task_key)).size + llmRejections.length,
      out: items.length,
      rejected: llmRejections.length,
      reasons: tally(llmRejections.map((r) => r.reason)),
    },
    validate: {
      in: validations.length,
      out: approved,
      rejected: validations.length - approved,
      reasons: tally(
        validations.filter((v) => v.status === 'rejected').flatMap((v) => v.reasons.map((r) => r.rule)),
      ),
    },
    export: {
      in: approved,
      out: inRelease,
      rejected: 0,
      reasons: {},
    },
  };
  const stages: StageRow[] = STAGE_NAMES.map((name) => {
    const outcome = o.outcomes.find((x) => x.name === name);
    const t = totals[name] ?? { in: 0, out: 0, rejected: 0, reasons: {} };
    return {
      name,
      ...t,
      exitCode: outcome ? outcome.exitCode : null,
      wallMs: outcome ? outcome.wallMs : null,
      durationMs: outcome?.summary?.durationMs ?? null,
      thisTime: outcome?.summary
        ? {
            out: outcome.summary.counts?.out ?? 0,
            skipped: outcome.summary.counts?.skipped ?? 0,
            newWork: didWork(outcome.summary),
          }
        : null,
    };
  });

  const first = okTranscripts[0];
  const firstSegs = first ? segments.filter((s) => s.transcript_id === first.id) : [];
  const samples: SampleItem[] = [];
  const byKind = new Map<string, typeof items>();
  for (const i of items) byKind.set(i.kind, [...(byKind.get(i.kind) ?? []), i]);
  for (const list of byKind.values()) {
    const ranked = [...list].sort(
      (a, b) =>
        Number(validationOf.get(b.id)?.status === 'approved') -
        Number(validationOf.get(a.id)?.status === 'approved'),
    );
    for (const i of ranked.slice(0, 2)) {
      const v = validationOf.get(i.id);
      samples.push({
        id: i.id,
        kind: i.kind,
        topic: i.topic,
        targetBand: str(i.target_band),
        status: v ? v.status : 'not validated',
        reasons: v ? v.reasons.map((r) => `${r.rule}: ${r.detail}`) : [],
        fields: flatten(i.payload),
      });
    }
  }
  const ok = classifications.filter((c) => c.status === 'ok');
  const segmentText = new Map(segments.map((s) => [s.id, s.text]));
  const textOf = new Map<string, { kind: string; text: string }>([
    ...items.map(
      (i) =>
        [
          i.id,
          {
            kind: i.kind,
            text: flatten(i.payload)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n'),
          },
        ] as const,
    ),
    ...classifications.map(
      (c) => [c.id, { kind: 'segment', text: segmentText.get(c.segment_id) ?? '' }] as const,
    ),
  ]);
  return {
    runId,
    generatedAt: new Date().toISOString(),
    totalMs: o.totalMs,
    noWork: o.outcomes.length > 0 && o.outcomes.every((x) => x.exitCode === 0 && !didWork(x.summary)),
    db: o.dbKind,
    storage: store.location,
    llm: o.llm ?? null,
    stages,
    transcript: first
      ? {
          mediaId: first.media_id,
          source: runMedia.find((m) => m.media_id === first.media_id)?.source_uri ?? '',
          model: first.model,
          status: first.status,
          durationMs: first.duration_ms,
          segments: firstSegs
            .slice(0, 12)
            .map((s) => ({ startMs: s.start_ms, endMs: s.end_ms, turn: s.turn, text: s.text })),
          totalSegments: firstSegs.length,
        }
      : null,
    distributions: {
      part: tally(ok.map((c) => c.part ?? 'unknown')),
      topic: tally(ok.map((c) => c.topic ?? 'unknown')),
      band: tally(
        ok.map((c) => (c.band === null || c.band === undefined ? 'unknown' : String(Number(c.band)))),
      ),
    },
    samples,
    gate: gateRules(validations, textOf),
    release: release
      ? {
          id: release.id,
          location: releaseLocation(store, release.id),
          manifestKey: release.manifest_key,
          itemCount: release.item_count,
          counts: release.counts,
        }
      : null,
    failure: o.failure,
  };
}

/** The rules that fired on most items (rejections and needs_review flags apart), each with one example. */
export function gateRules(
  validations: Array<{ item_id: string; status: string; reasons: Array<{ rule: string; detail: string }> }>,
  textOf: Map<string, { kind: string; text: string }>,
  top = 8,
): GateRule[] {
  const byRule = new Map<string, { ids: Set<string>; rule: Omit<GateRule, 'items'> }>();
  for (const v of validations) {
    if (v.status !== 'rejected' && v.status !== 'needs_review') continue;
    for (const r of v.reasons) {
      const key = `${v.status}:${r.rule}`;
      const seen = byRule.get(key);
      if (seen) {
        seen.ids.add(v.item_id);
        continue;
      }
      const item = textOf.get(v.item_id);
      const text = item?.text ?? '';
      byRule.set(key, {
        ids: new Set([v.item_id]),
        rule: {
          rule: r.rule,
          outcome: v.status,
          example: {
            id: v.item_id,
            kind: item?.kind ?? '',
            detail: r.detail,
            text: text.length > 300 ? `${text.slice(0, 300)}…` : text,
          },
        },
      });
    }
  }
  return [...byRule.values()]
    .map(({ ids, rule }) => ({ ...rule, items: ids.size }))
    .sort((a, b) => b.items - a.items || a.rule.localeCompare(b.rule))
    .slice(0, top);
}
