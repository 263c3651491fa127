"""Test setup: a throw-away AIRFLOW_HOME per test session (sqlite metadata DB, this repo's dags/ as the DAG
folder) configured before Airflow is first imported, so no test touches a developer's Airflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DAGS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = DAGS_DIR.parent
IMAGE_TAG = "test-2026.11.22"

_home = Path(tempfile.mkdtemp(prefix="pronielts-airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # The provider's hook reads the XCom sidecar settings from this connection; no cluster is contacted.
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps({"conn_type": "kubernetes", "extra": {"in_cluster": False}}),
        # The stage image tag, as an Airflow Variable from the environment secrets backend.
        "AIRFLOW_VAR_PRONIELTS_IMAGE_TAG": IMAGE_TAG,
    }
)
if str(DAGS_DIR) not in sys.path:
    sys.path.insert(0, str(DAGS_DIR))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_home, ignore_errors=True)


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR, bundle_name="dags-folder")


@pytest.fixture(scope="session")
def catalog():
    from common.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The session's sqlite metadata DB, migrated, with the gpu pool the transcribe tasks use."""
    airflow = str(Path(sys.executable).parent / "airflow")
    for cmd in (
        [airflow, "db", "migrate"],
        [airflow, "pools", "set", "gpu", "2", "GPU transcription pods"],
    ):
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    from airflow import settings

    settings.configure_orm()
    return _home


PodRunner = Callable[[Any, Any, dict], Any]


def dag_runner(dagbag, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[Any, list[dict]]]:
    """Runs one DAG run with Airflow's own dag.test() loop: real param validation, template rendering,
    dependency order, dynamic mapping and XCom. Only the last step of each pod task is replaced: instead of
    sending the pod to a cluster, ``pod_runner(operator, pod, context)`` gets the pod the provider built
    (``build_pod_request_obj``) and its return value becomes the task's XCom, as return.json would."""
    from common.pods import StagePodOperator

    records: list[dict] = []
    runner: dict[str, PodRunner] = {}

    def execute(self: StagePodOperator, context: Any) -> Any:
        self.name = self._set_name(self.name)
        pod = self.build_pod_request_obj(context, dry_run=True)
        ti = context["ti"]
        record = {"task_id": self.task_id, "map_index": ti.map_index, "run_id": context["run_id"], "pod": pod}
        records.append(record)
        record["result"] = runner["fn"](self, pod, context)
        return record["result"] if self.do_xcom_push else None

    monkeypatch.setattr(StagePodOperator, "execute", execute)

    def run(dag_id: str, conf: dict, pod_runner: PodRunner) -> tuple[Any, list[dict]]:
        records.clear()
        runner["fn"] = pod_runner
        # A freshly parsed DAG per run, as every task process in a deployment has: the task runner renders
        # templates into the task objects in place, so a second in-process run would see the first's values.
        from airflow.dag_processing.dagbag import BundleDagBag

        fresh = BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR, bundle_name="dags-folder")
        dagrun = fresh.dags[dag_id].test(run_conf=conf)
        return dagrun, list(records)

    return run


@pytest.fixture
def run_dag(airflow_db: Path, dagbag, monkeypatch) -> Callable[..., tuple[Any, list[dict]]]:
    return dag_runner(dagbag, monkeypatch)
