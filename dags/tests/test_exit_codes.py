"""Exit codes: the provider's own cleanup() judges the finished pod; StagePodOperator turns 2 and 3 into
AirflowFailException (no retry) and leaves 75, 1 and the rest to the task's retries."""

from __future__ import annotations

import re

import pytest
from kubernetes.client import models as k8s


def finished_pod(exit_code: int) -> k8s.V1Pod:
    phase = "Succeeded" if exit_code == 0 else "Failed"
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code, reason="Error"))
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="pronielts-ingest-abc", namespace="automation-tasks"),
        status=k8s.V1PodStatus(
            phase=phase,
            container_statuses=[
                k8s.V1ContainerStatus(
                    name="base", state=state, image="pronielts/ingestor:1", image_id="", ready=False, restart_count=0
                )
            ],
        ),
    )


@pytest.fixture
def operator(monkeypatch):
    from common.pods import stage_pod

    op = stage_pod("ingest", arguments=["--run-id", "r"], do_xcom_push=False)
    # The Kubernetes API calls of cleanup (istio check, label patch, delete, events): no cluster here.
    monkeypatch.setattr(op, "is_istio_enabled", lambda *a, **k: False)
    monkeypatch.setattr(op, "patch_already_checked", lambda *a, **k: None)
    monkeypatch.setattr(op, "process_pod_deletion", lambda *a, **k: True)
    monkeypatch.setattr(op, "_read_pod_events", lambda *a, **k: None)
    return op


def test_exit_0_succeeds(operator):
    pod = finished_pod(0)
    operator.cleanup(pod=pod, remote_pod=pod)


@pytest.mark.parametrize(("code", "why"), [(2, "invalid input or configuration"), (3, "data-quality check failed")])
def test_exit_2_and_3_fail_without_retry(operator, code, why):
    from airflow.sdk.exceptions import AirflowFailException

    pod = finished_pod(code)
    with pytest.raises(AirflowFailException, match=re.escape(f"stage exited {code} ({why}); not retried")):
        operator.cleanup(pod=pod, remote_pod=pod)


@pytest.mark.parametrize("code", [75, 1, 137])
def test_other_failures_stay_retryable(operator, code):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    pod = finished_pod(code)
    with pytest.raises(AirflowException) as err:
        operator.cleanup(pod=pod, remote_pod=pod)
    assert not isinstance(err.value, AirflowFailException)


def test_a_pod_that_never_started_is_retryable(operator):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="p", namespace="automation-tasks"), status=k8s.V1PodStatus(phase="Failed")
    )
    with pytest.raises(AirflowException) as err:
        operator.cleanup(pod=pod, remote_pod=pod)
    assert not isinstance(err.value, AirflowFailException)


def test_exit_2_fails_the_dag_run_on_the_first_try_despite_retries(airflow_db, dagbag):
    """Through Airflow's own task runner: the ingest pod exits 2 and the run fails at once, with no retry."""
    from .conftest import dag_runner

    def ingest_exits_2(op, pod, context):
        if op.task_id != "ingest":
            return {"mediaIds": []}
        remote = finished_pod(2)
        with pytest.MonkeyPatch.context() as mp:
            for name in ("is_istio_enabled", "patch_already_checked", "process_pod_deletion", "_read_pod_events"):
                mp.setattr(op, name, lambda *a, **k: False)
            op.cleanup(pod=remote, remote_pod=remote)
        raise AssertionError("cleanup accepted a pod that exited 2")

    with pytest.MonkeyPatch.context() as mp:
        dagrun, records = dag_runner(dagbag, mp)("pronielts_content_pipeline", {"sources": ["a.wav"]}, ingest_exits_2)
    assert dagrun.state == "failed"
    tis = {ti.task_id: ti for ti in dagrun.get_task_instances()}
    assert tis["migrate"].state == "success"
    assert tis["ingest"].state == "failed"
    assert tis["ingest"].try_number == 1
    assert tis["ingest"].max_tries == 3, "the task has retries; exit 2 bypassed them"
    assert [r["task_id"] for r in records] == ["migrate", "ingest"]
