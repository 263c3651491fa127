"""Local end-to-end: pronielts_content_pipeline run by Airflow's dag.test() loop, each pod task executed as a
local process of the stage CLI its image holds, with the rendered args and env, pointed at the test services
(PostgreSQL, S3, an Ollama-protocol server, whisper.cpp with a tiny generated model). Each stage's
return.json is the task's XCom, so this proves the DAG and the stages agree on arguments and XCom shapes."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, dag_runner
from .test_exit_codes import finished_pod

IMAGE_TO_PACKAGE = {
    "pronielts/ingestor": "ingestor",
    "pronielts/transcriber": "transcriber",
    "pronielts/classifier": "classifier",
    "pronielts/paraphraser": "paraphraser",
    "pronielts/exporter": "exporter",
}
# What each image's ENTRYPOINT runs (packages/<stage>/Dockerfile): the stage's bundled CLI.
STAGE_ENTRY = Path("dist") / "bundle" / "cli.js"
SENTENCES = [
    "Describe a place you like to visit. I like the park near my house because it is quiet and green.",
    "What do you do in your free time? I usually read books and sometimes I play football with friends.",
]


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run through scripts/test-dags (it loads the test services' env)")
    return value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    pg_url = _require_env("PRONIELTS_TEST_PG_URL")
    whisper_cli = _require_env("WHISPER_CLI")
    work = tmp_path_factory.mktemp("e2e")
    node = shutil.which("node") or pytest.fail("node is not on PATH")
    for pkg in IMAGE_TO_PACKAGE.values():
        if not (REPO_ROOT / "packages" / pkg / STAGE_ENTRY).is_file():
            pytest.fail(f"packages/{pkg}/{STAGE_ENTRY} is missing: run pnpm turbo run build first")

    # A database of its own on the shared PostgreSQL server.
    db_name = f"dags_e2e_{uuid.uuid4().hex[:10]}"
    psql = [str(Path(os.environ.get("PRONIELTS_TEST_PG_BINDIR", "/usr/bin")) / "psql"), "-v", "ON_ERROR_STOP=1", "-qAt"]
    subprocess.run([*psql, pg_url, "-c", f"CREATE DATABASE {db_name}"], check=True, capture_output=True)
    db_url = re.sub(r"/[^/]*$", f"/{db_name}", pg_url)

    # Speech samples, the tiny whisper model, an Ollama-protocol server.
    sources = []
    for i, text in enumerate(SENTENCES):
        wav = work / f"answer-{i}.wav"
        subprocess.run(
            [shutil.which("espeak-ng") or "espeak-ng", "-w", str(wav), text], check=True, capture_output=True
        )
        sources.append(str(wav))
    models = work / "whisper-models"
    models.mkdir()
    subprocess.run(
        [node, str(REPO_ROOT / "tooling/whisper-fixtures/src/cli.ts"), str(models / "ggml-tiny-random.bin")],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    ollama = subprocess.Popen(
        [node, str(REPO_ROOT / "tooling/ollama-test-server/src/cli.ts"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert ollama.stdout is not None
    first_line = ollama.stdout.readline()  # it prints its URL once it listens
    assert "127.0.0.1" in first_line, first_line
    try:
        yield {
            "work": work,
            "node": node,
            "db_url": db_url,
            "psql": psql,
            "sources": sources,
            "whisper_models": models,
            "whisper_cli": whisper_cli,
            "ollama_url": f"http://127.0.0.1:{port}",
            "s3_endpoint": _require_env("PRONIELTS_TEST_MINIO_ENDPOINT"),
            "s3_access_key": _require_env("PRONIELTS_TEST_S3_ACCESS_KEY"),
            "s3_secret_key": _require_env("PRONIELTS_TEST_S3_SECRET_KEY"),
            "bucket_prefix": f"dagse2e-{uuid.uuid4().hex[:8]}-",
        }
    finally:
        ollama.terminate()
        ollama.wait(timeout=10)
        subprocess.run([*psql, pg_url, "-c", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"], capture_output=True)


class LocalPods:
    """Runs a rendered pod as a local process: image → stage CLI, args as rendered, env as rendered with the
    cluster's addresses and volumes mapped to local ones and the secret references resolved."""

    def __init__(self, svc: dict):
        self.svc = svc
        self.runs: list[dict] = []
        self.secrets = {
            ("minio-credentials", "access-key"): svc["s3_access_key"],
            ("minio-credentials", "secret-key"): svc["s3_secret_key"],
            ("automation-db-credentials", "database-url"): svc["db_url"],
        }

    def __call__(self, op, pod, context):
        [c] = [c for c in pod.spec.containers if c.name == "base"]
        repo = c.image.rsplit(":", 1)[0]
        cli = REPO_ROOT / "packages" / IMAGE_TO_PACKAGE[repo] / STAGE_ENTRY
        scratch = Path(tempfile.mkdtemp(prefix=f"{op.task_id}-", dir=self.svc["work"]))
        mounts: dict[str, Path] = {}
        for m in c.volume_mounts or []:
            if m.mount_path == "/root/.cache/whisper":
                mounts[m.mount_path] = self.svc["whisper_models"]  # the whisper-model-cache PVC
            else:
                mounts[m.mount_path] = scratch / m.name
                mounts[m.mount_path].mkdir(exist_ok=True)

        def local_path(value: str) -> str:
            for mount in sorted(mounts, key=len, reverse=True):
                if value == mount or value.startswith(mount + "/"):
                    return str(mounts[mount]) + value[len(mount) :]
            return value

        env = {
            "PATH": f"{Path(self.svc['whisper_cli']).parent}:{os.environ['PATH']}",  # whisper-cli, as in the image
            "HOME": os.environ.get("HOME", "/root"),
            "MINIO_BUCKET_PREFIX": self.svc["bucket_prefix"],
        }
        for e in c.env or []:
            if e.value_from is not None:
                ref = e.value_from.secret_key_ref
                env[e.name] = self.secrets[(ref.name, ref.key)]
            elif e.name == "MINIO_ENDPOINT":
                env[e.name] = self.svc["s3_endpoint"]
            elif e.name == "OLLAMA_HOST":
                env[e.name] = self.svc["ollama_url"]
            else:
                env[e.name] = local_path(e.value)
        if "/airflow/xcom" in mounts:
            env["AIRFLOW_XCOM_DIR"] = str(mounts["/airflow/xcom"])

        proc = subprocess.run(
            [self.svc["node"], str(cli), *c.args],
            env=env,
            cwd=self.svc["work"],
            capture_output=True,
            text=True,
            timeout=op.execution_timeout.total_seconds(),
        )
        self.runs.append({"task_id": op.task_id, "args": list(c.args), "code": proc.returncode, "env": env})
        if proc.returncode != 0:
            # Judge the exit code exactly as the operator does for a real pod.
            remote = finished_pod(proc.returncode)
            with pytest.MonkeyPatch.context() as mp:
                for name in ("is_istio_enabled", "patch_already_checked", "process_pod_deletion", "_read_pod_events"):
                    mp.setattr(op, name, lambda *a, **k: False)
                try:
                    op.cleanup(pod=remote, remote_pod=remote)
                finally:
                    print(f"--- {op.task_id} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        if not op.do_xcom_push:
            return None
        return json.loads((mounts["/airflow/xcom"] / "return.json").read_text())


def test_pipeline_runs_end_to_end_and_publishes_a_release(services, airflow_db, dagbag):
    pods = LocalPods(services)
    conf = {
        "sources": services["sources"],
        "whisper_model": "tiny-random",
        "transcribe_batch_size": 1,
        "release": True,
    }
    with pytest.MonkeyPatch.context() as mp:
        dagrun, records = dag_runner(dagbag, mp)("pronielts_content_pipeline", conf, pods)
    order = [(r["task_id"], r["map_index"]) for r in records]
    assert dagrun.state == "success", f"{order}\n{[(r['task_id'], r['code']) for r in pods.runs]}"

    assert [t for t, _ in order] == [
        "migrate",
        "ingest",
        "transcribe",
        "transcribe",
        "classify",
        "paraphrase",
        "validate",
        "export",
    ]
    assert sorted(i for t, i in order if t == "transcribe") == [0, 1], "one GPU pod per batch of one"
    results = {(r["task_id"], r["map_index"]): r["result"] for r in records}
    media_ids = results[("ingest", -1)]["mediaIds"]
    assert len(media_ids) == 2
    transcribed = [a for r in pods.runs if r["task_id"] == "transcribe" for a in r["args"][-1].split(",")]
    assert sorted(transcribed) == sorted(media_ids)
    assert all(r["code"] == 0 for r in pods.runs)

    export = results[("export", -1)]
    release_id, manifest_key = export["releaseId"], export["manifestKey"]
    assert release_id, export
    assert manifest_key, export

    # The release exists in PostgreSQL …
    status = subprocess.run(
        [*services["psql"], services["db_url"], "-v", f"id={release_id}"],
        input="select status from releases where id = :'id'",
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert status == "complete"
    # … and its manifest in the S3 server's pronielts-processed bucket (read back through the shared store).
    script = (
        "import { createObjectStore } from '@pronielts/shared/storage';"
        "import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';"
        "const s = createObjectStore(storageConfigFrom(sharedEnv.parse(process.env)));"
        "const info = await s.stat('processed', process.argv[1]);"
        "console.log(JSON.stringify({ bucket: s.bucketName('processed'), size: info?.size ?? null }));"
        "await s.close();"
    )
    env = {k: v for k, v in pods.runs[-1]["env"].items() if k.startswith(("MINIO_", "PATH", "HOME"))}
    out = subprocess.run(
        [services["node"], "--input-type=module", "-e", script, manifest_key],
        env=env,
        cwd=REPO_ROOT / "packages" / "exporter",
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["bucket"] == f"{services['bucket_prefix']}pronielts-processed"
    assert found["size"]
    assert found["size"] > 0
