/** Everything the report shows, gathered once (from the DB, the store and the stage summaries). */

export interface StageRow {
  name: string;
  /** Exit code of this invocation's process; null when the stage was not run this time. */
  exitCode: number | null;
  /** Wall time of the process this time (spawn to exit), and the stage's own duration. */
  wallMs: number | null;
  durationMs: number | null;
  /** The run's items at this stage, from the DB: what came in, went on, was rejected. */
  in: number;
  out: number;
  rejected: number;
  reasons: Record<string, number>;
  /** What this invocation did (the summary's counts). */
  thisTime: { out: number; skipped: number; newWork: boolean } | null;
}

export interface TranscriptExcerpt {
  mediaId: string;
  source: string;
  model: string;
  status: string;
  durationMs: number | null;
  segments: Array<{ startMs: number; endMs: number; turn: string | null; text: string }>;
  totalSegments: number;
}

export interface SampleItem {
  id: string;
  kind: string;
  topic: string | null;
  targetBand: string | null;
  status: 'approved' | 'rejected' | 'needs_review' | 'not validated';
  reasons: string[];
  fields: Array<[string, string]>;
}

export interface GateRule {
  rule: string;
  /** What the rule made of the items: rejected, or published flagged needs_review. */
  outcome: 'rejected' | 'needs_review';
  items: number;
  example: { id: string; kind: string; detail: string; text: string };
}

export interface ReportData {
  runId: string;
  generatedAt: string;
  totalMs: number;
  /** True when no stage of this invocation did new work (a re-run of a finished run). */
  noWork: boolean;
  db: string;
  storage: string;
  /** The LLM that served the classify and paraphrase stages, when they ran. */
  llm: { model: string; host: string; note: string | null } | null;
  stages: StageRow[];
  transcript: TranscriptExcerpt | null;
  distributions: {
    part: Record<string, number>;
    topic: Record<string, number>;
    band: Record<string, number>;
  };
  samples: SampleItem[];
  /** The quality-gate rules that fired most on the run's items, with one example each. */
  gate: GateRule[];
  release: {
    id: string;
    location: string;
    manifestKey: string | null;
    itemCount: number;
    counts: Record<string, number>;
  } | null;
  failure: string | null;
}
