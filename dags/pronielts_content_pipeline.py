"""pronielts_content_pipeline: raw speaking media in, a content release out.

migrate -> ingest -> transcribe_batches -> transcribe (mapped, gpu pool) -> classify -> paraphrase
        -> validate -> export

Every stage is one pod in automation-tasks built from stage_catalog.json (common/pods.py). The ingest
summary's mediaIds are cut into batches; one GPU pod transcribes each batch, as many at once as the gpu
pool allows. Exit codes: 2 fails at once, 75 and others retry with backoff (see common/pods.py).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param, task

from common.catalog import load_catalog
from common.pods import TEMPLATE_FILTERS, StagePodOperator, stage_pod, stage_pod_kwargs

RUN_ID = "{{ run_id }}"
MAX_ACTIVE_RUNS = 2
MAX_ACTIVE_TASKS = 4

_catalog = load_catalog()

with DAG(
    dag_id="pronielts_content_pipeline",
    description="Ingest, transcribe, classify, paraphrase, validate and release IELTS speaking content",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    max_active_tasks=MAX_ACTIVE_TASKS,
    user_defined_filters=TEMPLATE_FILTERS,
    render_template_as_native_obj=False,
    tags=["pronielts", "content"],
    params={
        "sources": Param(
            type="array",
            items={"type": "string", "minLength": 1, "maxLength": 2048},
            minItems=1,
            maxItems=500,
            description="Media to ingest: https:// or s3:// URIs, or paths under the ingestor's local roots.",
        ),
        "whisper_model": Param(
            None,
            type=["null", "string"],
            pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
            description="Whisper model (ggml-<model>.bin in the whisper-model-cache); default: the catalog's.",
        ),
        "llm_model": Param(
            None,
            type=["null", "string"],
            minLength=1,
            maxLength=128,
            description="Ollama model for classify and paraphrase; default: the catalog's.",
        ),
        "release": Param(True, type="boolean", description="Publish a release (false: export dry run)."),
        "transcribe_batch_size": Param(
            4, type="integer", minimum=1, maximum=100, description="Media per transcription pod."
        ),
        "image_tag": Param(
            None,
            type=["null", "string"],
            pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
            description="Stage image tag for this run; default: the Airflow Variable pronielts_image_tag.",
        ),
    },
) as dag:
    whisper_model = _catalog.stage_env("transcribe")["WHISPER_MODEL"]
    llm_model = _catalog.llm_env["LLM_MODEL"]
    llm_env = {"LLM_MODEL": "{{ params.llm_model or '" + llm_model + "' }}"}

    migrate = stage_pod("migrate")
    ingest = stage_pod("ingest", arguments=["--run-id", RUN_ID, "--sources-json", "{{ params.sources | tojson }}"])

    @task
    def transcribe_batches(ingest_summary: dict, params: dict | None = None, run_id: str | None = None) -> list:
        """One argument list per transcription pod: the ingested media ids, in batches."""
        media_ids = list(ingest_summary.get("mediaIds") or [])
        size = int((params or {}).get("transcribe_batch_size") or 4)
        return [
            ["--run-id", str(run_id), "--media-ids", ",".join(media_ids[i : i + size])]
            for i in range(0, len(media_ids), size)
        ]

    batches = transcribe_batches(ingest.output)
    transcribe = StagePodOperator.partial(
        **stage_pod_kwargs(
            "transcribe",
            env_overrides={"WHISPER_MODEL": "{{ params.whisper_model or '" + whisper_model + "' }}"},
        ),
        map_index_template="{{ task.arguments[-1][:80] }}",
    ).expand(arguments=batches)

    classify = stage_pod("classify", arguments=["--run-id", RUN_ID], env_overrides=llm_env)
    paraphrase = stage_pod("paraphrase", arguments=["--run-id", RUN_ID], env_overrides=llm_env)
    validate = stage_pod("validate", arguments=["--run-id", RUN_ID])
    export = stage_pod(
        "export", arguments=["--run-id", RUN_ID, "--release", "{{ 'true' if params.release else 'false' }}"]
    )

    migrate >> ingest
    transcribe >> classify >> paraphrase >> validate >> export
