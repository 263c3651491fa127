"""Structure: task ids, dependencies, retries, pool, timeouts, concurrency and the param schema."""

from __future__ import annotations

import copy
from datetime import timedelta
from types import SimpleNamespace

import pytest

PIPELINE = "pronielts_content_pipeline"
QUALITY = "pronielts_quality_check"
POD_TASKS = {
    "migrate": "migrate",
    "ingest": "ingest",
    "transcribe": "transcribe",
    "classify": "classify",
    "paraphrase": "paraphrase",
    "validate": "validate",
    "export": "export",
}


@pytest.fixture(scope="module")
def pipeline(dagbag):
    return dagbag.dags[PIPELINE]


def test_pipeline_tasks_run_in_stage_order(pipeline):
    edges = {t.task_id: sorted(t.downstream_task_ids) for t in pipeline.tasks}
    assert edges == {
        "migrate": ["ingest"],
        "ingest": ["transcribe_batches"],
        "transcribe_batches": ["transcribe"],
        "transcribe": ["classify"],
        "classify": ["paraphrase"],
        "paraphrase": ["validate"],
        "validate": ["export"],
        "export": [],
    }


def test_transcribe_is_mapped_over_the_ingest_batches_in_the_gpu_pool(pipeline):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    transcribe = pipeline.get_task("transcribe")
    assert isinstance(transcribe, MappedOperator)
    assert list(transcribe.expand_input.value) == ["arguments"]
    assert transcribe.pool == "gpu"
    assert transcribe.pool_slots == 1
    assert all(pipeline.get_task(t).pool == "default_pool" for t in POD_TASKS if t != "transcribe")


def test_concurrency_limits_follow_the_seed(pipeline, dagbag):
    assert pipeline.max_active_runs == 2
    assert pipeline.max_active_tasks == 4
    assert pipeline.schedule is None
    assert pipeline.catchup is False
    assert dagbag.dags[QUALITY].max_active_runs == 1


@pytest.mark.parametrize("task_id", sorted(POD_TASKS))
def test_every_stage_retries_with_backoff_and_has_the_catalog_timeout(pipeline, catalog, task_id):
    from common.pods import StagePodOperator

    task = pipeline.get_task(task_id)
    stage = catalog.stage(POD_TASKS[task_id])
    partial = getattr(task, "partial_kwargs", None)
    get = (lambda k: partial[k]) if partial is not None else (lambda k: getattr(task, k))
    assert (task.operator_class if partial is not None else type(task)) is StagePodOperator
    assert get("retries") == 3
    assert get("retry_exponential_backoff") == 2.0
    assert get("retry_delay") == timedelta(minutes=1)
    assert get("max_retry_delay") == timedelta(minutes=15)
    assert get("execution_timeout") == timedelta(minutes=stage.timeout_minutes)
    # The timeout leaves room above the seed's longest estimate for the stage.
    assert stage.timeout_minutes >= 2 * stage.duration_estimate_minutes[1]


def test_timeouts_come_from_the_seed_duration_table(catalog):
    # Seed §9.3 upper estimates (minutes); paraphrase covers the paraphraser and the generator rows.
    seed_upper = {"ingest": 5, "transcribe": 30, "classify": 15, "paraphrase": 15 + 5, "validate": 2, "export": 2}
    for name, upper in seed_upper.items():
        assert catalog.stage(name).duration_estimate_minutes[1] == upper, name


def test_quality_check_is_hourly_and_one_stage_pod(dagbag, catalog):
    from common.pods import StagePodOperator

    dag = dagbag.dags[QUALITY]
    assert dag.timetable.expression == "0 * * * *"
    [task] = dag.tasks
    assert type(task) is StagePodOperator
    assert task.task_id == "quality_check"
    assert task.arguments == ["quality-check", "--run-id", "{{ run_id }}"]
    assert task.retries == 2
    assert task.execution_timeout == timedelta(minutes=catalog.stage("quality-check").timeout_minutes)


class TestParamSchema:
    """The params are validated by Airflow's own ParamsDict, as the trigger form and the API do."""

    @staticmethod
    def resolve(dag, conf):
        from airflow.sdk.definitions.param import process_params

        # A copy: resolving a Param stores the value in it, and the session's DAG object is shared.
        fresh = SimpleNamespace(params=copy.deepcopy(dag.params))
        return process_params(fresh, SimpleNamespace(params=None), conf, suppress_exception=False)

    def test_defaults(self, pipeline):
        got = self.resolve(pipeline, {"sources": ["s3://in/a.wav"]})
        assert got == {
            "sources": ["s3://in/a.wav"],
            "whisper_model": None,
            "llm_model": None,
            "release": True,
            "transcribe_batch_size": 4,
            "image_tag": None,
        }

    def test_accepts_every_optional_param(self, pipeline):
        conf = {
            "sources": ["https://example.org/a.mp3", "b.wav"],
            "whisper_model": "base.en",
            "llm_model": "mistral:7b",
            "release": False,
            "transcribe_batch_size": 10,
            "image_tag": "1.4.2",
        }
        assert self.resolve(pipeline, conf) == conf

    @pytest.mark.parametrize(
        "conf",
        [
            {},
            {"sources": []},
            {"sources": "s3://in/a.wav"},
            {"sources": [""]},
            {"sources": ["a.wav"], "whisper_model": "../evil"},
            {"sources": ["a.wav"], "release": "yes"},
            {"sources": ["a.wav"], "transcribe_batch_size": 0},
            {"sources": ["a.wav"], "image_tag": "has space"},
            {"sources": ["a.wav"], "llm_model": ""},
        ],
    )
    def test_rejects_invalid_conf(self, pipeline, conf):
        from airflow.sdk.exceptions import ParamValidationError

        with pytest.raises(ParamValidationError):
            self.resolve(pipeline, conf)
