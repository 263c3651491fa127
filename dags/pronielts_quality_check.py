"""pronielts_quality_check: hourly data-quality checks over the automation DB, as one stage pod.

`pronielts-exporter quality-check` checks completeness (media stuck without a transcript), freshness
(age of the newest release) and anomalies (rejection-rate spikes). A failed check exits 3 with one log
line per problem; the task fails at once (no retries: the data will not change in a minute), while exit 75
(DB unavailable) retries as usual. Thresholds: QUALITY_* env in the exporter's README.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from common.pods import TEMPLATE_FILTERS, stage_pod

with DAG(
    dag_id="pronielts_quality_check",
    description="Hourly completeness, freshness and anomaly checks of the content pipeline's data",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    user_defined_filters=TEMPLATE_FILTERS,
    tags=["pronielts", "quality"],
    params={
        "image_tag": Param(
            None,
            type=["null", "string"],
            pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
            description="Stage image tag for this run; default: the Airflow Variable pronielts_image_tag.",
        ),
    },
) as dag:
    stage_pod("quality-check", arguments=["--run-id", "{{ run_id }}"], retries=2)
