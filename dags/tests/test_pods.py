"""Rendered pods: the real pod objects the provider would send, built by build_pod_request_obj inside a real
dag.test() run (templates rendered by Airflow's task runner, mapped tasks expanded from the ingest XCom),
checked against the stage catalog and, when present, the k8s/base/task-pods/ pod templates."""

from __future__ import annotations

import pytest
import yaml
from kubernetes.client import ApiClient

from .conftest import IMAGE_TAG, REPO_ROOT, dag_runner

MEDIA_IDS = [f"{i:064x}" for i in range(1, 6)]
CONF = {
    "sources": ["s3://incoming/a.wav", "https://example.org/b.mp3"],
    "transcribe_batch_size": 2,
}
TASK_STAGE = {
    "migrate": "migrate",
    "ingest": "ingest",
    "transcribe": "transcribe",
    "classify": "classify",
    "paraphrase": "paraphrase",
    "validate": "validate",
    "export": "export",
    "quality_check": "quality-check",
}
K8S_TASK_PODS = REPO_ROOT / "k8s" / "base" / "task-pods"


def _summary_for(op, pod, context):
    # The pods are not run here: the ingest summary is the input that drives the mapping.
    return {"mediaIds": MEDIA_IDS} if op.task_id == "ingest" else {"stage": op.task_id}


@pytest.fixture(scope="module")
def pods(airflow_db, dagbag):
    with pytest.MonkeyPatch.context() as mp:
        run = dag_runner(dagbag, mp)
        dagrun, records = run("pronielts_content_pipeline", CONF, _summary_for)
        assert dagrun.state == "success", dagrun.state
        qrun, quality = run("pronielts_quality_check", {}, _summary_for)
        assert qrun.state == "success", qrun.state
    out: dict[tuple[str, int], dict] = {}
    for r in records + quality:
        out[(r["task_id"], r["map_index"])] = {**r, "dict": ApiClient().sanitize_for_serialization(r["pod"])}
    return out


def test_every_pod_task_ran_once_and_transcribe_fanned_out_per_batch(pods):
    assert sorted(pods) == sorted(
        [(t, -1) for t in TASK_STAGE if t != "transcribe"] + [("transcribe", i) for i in range(3)]
    )


def _expected_args(task_id: str, map_index: int, run_id: str) -> list[str]:
    batches = [MEDIA_IDS[i : i + 2] for i in range(0, len(MEDIA_IDS), 2)]
    return {
        "migrate": ["migrate", "latest"],
        "ingest": ["--run-id", run_id, "--sources-json", '["s3://incoming/a.wav", "https://example.org/b.mp3"]'],
        "transcribe": ["--run-id", run_id, "--media-ids", ",".join(batches[max(map_index, 0)])],
        "classify": ["--run-id", run_id],
        "paraphrase": ["--run-id", run_id],
        "validate": ["validate", "--run-id", run_id],
        "export": ["export", "--run-id", run_id, "--release", "true"],
        "quality_check": ["quality-check", "--run-id", run_id],
    }[task_id]


def _container(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "base")


@pytest.mark.parametrize("task_id", sorted(TASK_STAGE))
def test_rendered_pod_matches_the_stage_catalog(pods, catalog, task_id):
    for (tid, map_index), rec in pods.items():
        if tid != task_id:
            continue
        stage = catalog.stage(TASK_STAGE[task_id])
        pod = rec["dict"]
        c = _container(pod)

        assert pod["metadata"]["namespace"] == "automation-tasks" == catalog.namespace
        assert c["image"] == f"{stage.image}:{IMAGE_TAG}{stage.image_tag_suffix}"
        assert c["args"] == _expected_args(task_id, map_index, rec["run_id"])
        assert not c.get("command"), "the image's entrypoint (the stage CLI) runs; only args are set"

        plain = {e["name"]: e["value"] for e in c["env"] if "valueFrom" not in e}
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
        assert plain == catalog.stage_env(TASK_STAGE[task_id])
        assert refs == {s["name"]: {"name": s["secret"], "key": s["key"]} for s in catalog.secret_env}
        assert {s["secret"] for s in catalog.secret_env} == {"minio-credentials", "automation-db-credentials"}
        assert not any(e["name"] in refs for e in c["env"] if "value" in e), "a secret came as a literal"

        assert c["resources"] == stage.resources
        assert c["securityContext"] == catalog.container_security_context
        assert pod["spec"]["securityContext"] == catalog.pod_security_context
        assert pod["spec"]["serviceAccountName"] == catalog.service_account_name
        assert pod["spec"]["restartPolicy"] == "Never"
        for sidecar in pod["spec"]["containers"]:
            assert sidecar["securityContext"] == catalog.container_security_context, sidecar["name"]

        volumes = {v["name"]: v for v in pod["spec"]["volumes"] if v["name"] != "xcom"}
        mounts = [m for m in c["volumeMounts"] if m["name"] != "xcom"]
        assert mounts == [
            {"name": v["name"], "mountPath": v["mountPath"], **({"readOnly": True} if v.get("readOnly") else {})}
            for v in stage.volumes
        ]
        for v in stage.volumes:
            if "emptyDir" in v:
                assert volumes[v["name"]] == {"name": v["name"], "emptyDir": v["emptyDir"]}
            else:
                assert (
                    volumes[v["name"]]["persistentVolumeClaim"]["claimName"] == v["persistentVolumeClaim"]["claimName"]
                )
        # do_xcom_push: the provider's sidecar reads /airflow/xcom/return.json, where the stages write it.
        has_xcom = any(m["mountPath"] == "/airflow/xcom" for m in c["volumeMounts"])
        assert has_xcom == (task_id != "migrate")


def test_only_the_transcriber_asks_for_a_gpu(pods):
    for (task_id, _), rec in pods.items():
        spec = rec["dict"]["spec"]
        c = _container(rec["dict"])
        if task_id == "transcribe":
            assert c["resources"]["requests"]["nvidia.com/gpu"] == "1"
            assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
            assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
            assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert volumes["whisper-cache"]["persistentVolumeClaim"]["claimName"] == "whisper-model-cache"
            assert {"name": "whisper-cache", "mountPath": "/root/.cache/whisper", "readOnly": True} in c["volumeMounts"]
            assert volumes["temp-storage"]["emptyDir"]["sizeLimit"] == "10Gi"
        else:
            assert "nvidia.com/gpu" not in str(c["resources"]), task_id
            assert not spec.get("nodeSelector"), task_id
            assert not spec.get("tolerations"), task_id


def test_params_reach_the_pods(airflow_db, dagbag):
    conf = {
        **CONF,
        "whisper_model": "base.en",
        "llm_model": "mistral:7b",
        "release": False,
        "image_tag": "1.2.3",
        "transcribe_batch_size": 10,
    }
    with pytest.MonkeyPatch.context() as mp:
        dagrun, records = dag_runner(dagbag, mp)("pronielts_content_pipeline", conf, _summary_for)
    assert dagrun.state == "success"
    by_task = {(r["task_id"], r["map_index"]): ApiClient().sanitize_for_serialization(r["pod"]) for r in records}
    env = lambda t: {e["name"]: e.get("value") for e in _container(by_task[(t, 0 if t == "transcribe" else -1)])["env"]}  # noqa: E731
    assert env("transcribe")["WHISPER_MODEL"] == "base.en"
    assert env("classify")["LLM_MODEL"] == env("paraphrase")["LLM_MODEL"] == "mistral:7b"
    assert _container(by_task[("export", -1)])["args"][-2:] == ["--release", "false"]
    assert [k for k in by_task if k[0] == "transcribe"] == [("transcribe", 0)]  # 5 ids, batches of 10
    assert {_container(p)["image"].split(":", 1)[1] for p in by_task.values()} == {"1.2.3", "1.2.3-cuda"}


@pytest.mark.parametrize("tag", ["", "latest"])
def test_a_missing_or_latest_image_tag_fails_the_task_instead_of_running_latest(tag, airflow_db, dagbag, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_PRONIELTS_IMAGE_TAG", tag)
    ran: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        dagrun, _ = dag_runner(dagbag, mp)("pronielts_quality_check", {}, lambda op, pod, ctx: ran.append(op.task_id))
    assert dagrun.state == "failed"
    assert ran == []
    [ti] = dagrun.get_task_instances()
    assert (ti.state, ti.try_number) == ("failed", 1), "a bad tag is configuration: no retries"


# --- the k8s/ pod templates (generated by tooling/deploy-checks) derive from the same catalog: they must agree --


def _normalise(container: dict, pod_spec: dict) -> dict:
    env = {}
    for e in container.get("env") or []:
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        env[e["name"]] = {"secret": ref["name"], "key": ref["key"]} if ref else e.get("value")
    volumes = {}
    for v in pod_spec.get("volumes") or []:
        if v["name"] == "xcom":
            continue
        if "emptyDir" in v:
            volumes[v["name"]] = {"emptyDir": (v["emptyDir"] or {}).get("sizeLimit")}
        elif "persistentVolumeClaim" in v:
            volumes[v["name"]] = {"pvc": v["persistentVolumeClaim"]["claimName"]}
        else:
            volumes[v["name"]] = v
    mounts = sorted(
        (m["name"], m["mountPath"], bool(m.get("readOnly")))
        for m in container.get("volumeMounts") or []
        if m["name"] != "xcom"
    )
    return {
        "image_repo": container["image"].rsplit(":", 1)[0]
        if ":" in container["image"].rsplit("/", 1)[-1]
        else container["image"],
        "env": env,
        "resources": container.get("resources") or {},
        "volumes": volumes,
        "mounts": mounts,
        "nodeSelector": pod_spec.get("nodeSelector") or {},
        "tolerations": pod_spec.get("tolerations") or [],
        "podSecurityContext": pod_spec.get("securityContext") or {},
        "securityContext": container.get("securityContext") or {},
    }


@pytest.mark.parametrize("task_id", sorted(TASK_STAGE))
def test_rendered_pod_matches_the_k8s_pod_template(pods, task_id):
    stage = TASK_STAGE[task_id]
    path = K8S_TASK_PODS / f"{stage}.yaml"
    assert path.is_file(), f"{path.relative_to(REPO_ROOT)} is missing: every catalog stage needs a pod template"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    [template] = [d for d in docs if d.get("kind") == "Pod"]
    [t_container] = template["spec"]["containers"]
    rendered = pods[(task_id, 0 if task_id == "transcribe" else -1)]["dict"]
    r_container = _container(rendered)
    expected = _normalise(r_container, rendered["spec"])
    # The catalog's image has no tag; the template's tag comes from kustomize, so only the repository counts.
    expected["image_repo"] = r_container["image"].rsplit(":", 1)[0]
    assert _normalise(t_container, template["spec"]) == expected
    assert template["metadata"].get("namespace", "automation-tasks") == rendered["metadata"]["namespace"]
    # The template cannot know the run: its args are the catalog's fixed args, a prefix of the rendered ones.
    t_args = [str(a) for a in t_container.get("args") or []]
    fixed = [a for a in t_args if not a.startswith("--")][: len(r_container["args"])]
    assert r_container["args"][: len(fixed)] == fixed
    assert {a for a in t_args if a.startswith("--")} <= {a for a in r_container["args"] if a.startswith("--")}
