"""The stage pod factory: one KubernetesPodOperator per pipeline stage, built from the stage catalog.

Exit codes (the stage contract, root README):
  0   done                                           -> success
  2   the stage's own input or configuration is bad  -> fail now, no retry (AirflowFailException)
  3   a data-quality check found a problem           -> fail now, no retry (AirflowFailException)
  75  a dependency is unavailable / pod was stopped  -> the task's normal retries with backoff
  1   a bug, and anything else (OOMKilled 137, ...)  -> the task's normal retries with backoff

The provider turns any failed pod into a plain AirflowException in ``cleanup()``, the single place both the
sync and the deferrable paths end; ``StagePodOperator.cleanup`` reads the base container's exit code from
the finished pod and re-raises AirflowFailException for the codes that retrying cannot fix, which makes the
task fail at once whatever its ``retries`` are.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from kubernetes.client import models as k8s

from common.catalog import Catalog, Stage, load_catalog

#: Exit codes that fail the task at once; everything else non-zero goes through the task's retries.
NO_RETRY_EXIT_CODES: dict[int, str] = {
    2: "invalid input or configuration",
    3: "data-quality check failed",
}
RETRY_EXIT_CODE = 75

#: The Airflow Variable that holds the stage image tag (the param image_tag overrides it per run).
IMAGE_TAG_VARIABLE = "pronielts_image_tag"
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(minutes=15)


def require_image_tag(tag: object) -> str:
    """Jinja filter for the image tag: explicit and immutable-looking, never empty and never ``latest``.

    A bad tag is configuration, not a transient fault: AirflowFailException fails the task without retries.
    """
    value = "" if tag is None else str(tag).strip()
    if not value:
        raise AirflowFailException(
            f"no stage image tag: set the Airflow Variable {IMAGE_TAG_VARIABLE} or the DAG param image_tag"
        )
    if value == "latest":
        raise AirflowFailException("stage image tag 'latest' is refused: pin a version (a git sha or a release tag)")
    if not _TAG_RE.match(value):
        raise AirflowFailException(f"stage image tag {value!r} is not a valid OCI tag")
    return value


#: user_defined_filters for every DAG that builds stage pods.
TEMPLATE_FILTERS = {"pronielts_image_tag": require_image_tag}

#: The tag, rendered per task instance: the run's param wins over the Variable (read at run time, not parse).
IMAGE_TAG_TEMPLATE = "{{ (params.image_tag or var.value.get('" + IMAGE_TAG_VARIABLE + "', '')) | pronielts_image_tag }}"


def base_container_exit_code(remote_pod: k8s.V1Pod | None, container_name: str) -> int | None:
    """The exit code of the finished base container, or None when the pod never got that far."""
    statuses = (remote_pod.status.container_statuses if remote_pod and remote_pod.status else None) or []
    for status in statuses:
        if status.name == container_name and status.state and status.state.terminated:
            return status.state.terminated.exit_code
    return None


class StagePodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator that maps the stage contract's exit codes to Airflow's retry semantics."""

    def cleanup(
        self,
        pod: k8s.V1Pod,
        remote_pod: k8s.V1Pod,
        xcom_result: dict | None = None,
        context: Any = None,
    ) -> None:
        try:
            super().cleanup(pod=pod, remote_pod=remote_pod, xcom_result=xcom_result, context=context)
        except AirflowSkipException:
            raise
        except AirflowException as err:
            code = base_container_exit_code(remote_pod, self.base_container_name)
            if code in NO_RETRY_EXIT_CODES:
                raise AirflowFailException(
                    f"stage exited {code} ({NO_RETRY_EXIT_CODES[code]}); not retried. {err}"
                ) from err
            raise


def _resources(stage: Stage) -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(
        requests=dict(stage.resources["requests"]), limits=dict(stage.resources["limits"])
    )


def _volumes(stage: Stage) -> tuple[list[k8s.V1Volume], list[k8s.V1VolumeMount]]:
    volumes: list[k8s.V1Volume] = []
    mounts: list[k8s.V1VolumeMount] = []
    for v in stage.volumes:
        if "emptyDir" in v:
            volumes.append(
                k8s.V1Volume(
                    name=v["name"], empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=v["emptyDir"]["sizeLimit"])
                )
            )
        elif "persistentVolumeClaim" in v:
            volumes.append(
                k8s.V1Volume(
                    name=v["name"],
                    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                        claim_name=v["persistentVolumeClaim"]["claimName"],
                        read_only=v.get("readOnly"),
                    ),
                )
            )
        else:
            raise ValueError(f"stage {stage.name}: volume {v['name']!r} has no supported source")
        mounts.append(k8s.V1VolumeMount(name=v["name"], mount_path=v["mountPath"], read_only=v.get("readOnly")))
    return volumes, mounts


def stage_pod_kwargs(
    stage_name: str,
    *,
    task_id: str | None = None,
    arguments: list[str] | None = None,
    env_overrides: dict[str, str] | None = None,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a StagePodOperator running ``stage_name`` (also usable with ``.partial``).

    ``arguments`` go after the catalog's own args (e.g. ``export`` for the exporter image); leave it None
    when the task is mapped over ``arguments``. ``env_overrides`` replace catalog env values and may be
    templates (e.g. a model chosen by a DAG param).
    """
    cat = catalog or load_catalog()
    stage = cat.stage(stage_name)
    env = {**cat.stage_env(stage_name), **(env_overrides or {})}
    volumes, mounts = _volumes(stage)
    kwargs: dict[str, Any] = {
        "task_id": task_id or stage_name.replace("-", "_"),
        "name": f"pronielts-{stage_name}",
        "namespace": cat.namespace,
        "service_account_name": cat.service_account_name,
        "image": f"{stage.image}:{IMAGE_TAG_TEMPLATE}{stage.image_tag_suffix}",
        "env_vars": [k8s.V1EnvVar(name=k, value=v) for k, v in env.items()],
        "secrets": [Secret("env", s["name"], s["secret"], s["key"]) for s in cat.secret_env],
        "container_resources": _resources(stage),
        "volumes": volumes,
        "volume_mounts": mounts,
        "security_context": dict(cat.pod_security_context),
        "container_security_context": dict(cat.container_security_context),
        # The provider's XCom sidecar runs under the same restricted profile as the stage.
        "xcom_sidecar_container_security_context": dict(cat.container_security_context),
        "labels": {"app.kubernetes.io/part-of": "pronielts", "pronielts.io/stage": stage_name},
        "get_logs": True,
        "log_events_on_failure": True,
        "on_finish_action": "delete_succeeded_pod",
        # Every stage writes return.json except the migrate phase, which reports through its exit code.
        "do_xcom_push": stage_name != "migrate",
        "execution_timeout": timedelta(minutes=stage.timeout_minutes),
        "retries": DEFAULT_RETRIES,
        "retry_delay": DEFAULT_RETRY_DELAY,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": MAX_RETRY_DELAY,
        # The stages exit 75 within STAGE_SHUTDOWN_GRACE_MS (20 s) of SIGTERM; give them that and a margin.
        "termination_grace_period": 30,
    }
    if arguments is not None:
        kwargs["arguments"] = [*stage.args, *arguments]
    if stage.gpu:
        kwargs["node_selector"] = dict(stage.gpu["nodeSelector"])
        kwargs["tolerations"] = [
            k8s.V1Toleration(key=t["key"], operator=t["operator"], effect=t.get("effect"), value=t.get("value"))
            for t in stage.gpu["tolerations"]
        ]
        kwargs["pool"] = stage.gpu["pool"]
    return kwargs


def stage_pod(
    stage_name: str,
    *,
    task_id: str | None = None,
    arguments: list[str] | None = None,
    env_overrides: dict[str, str] | None = None,
    **overrides: Any,
) -> StagePodOperator:
    """A StagePodOperator for one stage; ``overrides`` replace operator settings (e.g. ``retries``)."""
    kwargs = stage_pod_kwargs(stage_name, task_id=task_id, arguments=arguments or [], env_overrides=env_overrides)
    return StagePodOperator(**{**kwargs, **overrides})
