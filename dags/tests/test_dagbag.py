"""Parsing: the DAG folder imports cleanly and quickly, with no network or DB work at import."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parent.parent
DAG_FILES = sorted(p.name for p in DAGS_DIR.glob("*.py"))
PARSE_BUDGET_S = 2.0


def test_dagbag_imports_every_dag_with_zero_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == ["pronielts_content_pipeline", "pronielts_quality_check"]


def test_one_dag_per_file():
    assert DAG_FILES == ["pronielts_content_pipeline.py", "pronielts_quality_check.py"]


@pytest.mark.parametrize("name", DAG_FILES)
def test_dag_file_parses_quickly_without_network_or_db(name, monkeypatch):
    # Airflow and the provider are imported once per process anyway; time only the file's own work.
    import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
    from airflow.dag_processing.dagbag import BundleDagBag

    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} opened a network connection at import: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    started = time.perf_counter()
    bag = BundleDagBag(dag_folder=DAGS_DIR / name, bundle_path=DAGS_DIR, bundle_name="parse-check")
    elapsed = time.perf_counter() - started
    assert bag.import_errors == {}
    assert len(bag.dags) == 1
    assert elapsed < PARSE_BUDGET_S, f"{name} took {elapsed:.2f}s to parse (budget {PARSE_BUDGET_S}s)"
