"""The stage catalog (dags/stage_catalog.json) as typed Python values.

The catalog is the single source for how each task runs as a pod; the DAGs and the k8s/ pod templates
are both derived from it. Reading it is a small local JSON read, cheap enough for DAG parsing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).resolve().parent.parent / "stage_catalog.json"


@dataclass(frozen=True)
class Stage:
    name: str
    image: str
    args: list[str]
    resources: dict[str, dict[str, str]]
    timeout_minutes: int
    duration_estimate_minutes: tuple[int, int]
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    llm: bool = False
    gpu: dict[str, Any] | None = None
    image_tag_suffix: str = ""


@dataclass(frozen=True)
class Catalog:
    namespace: str
    service_account_name: str
    pod_security_context: dict[str, Any]
    container_security_context: dict[str, Any]
    env: dict[str, str]
    secret_env: list[dict[str, str]]
    llm_env: dict[str, str]
    stages: dict[str, Stage]

    def stage(self, name: str) -> Stage:
        try:
            return self.stages[name]
        except KeyError:
            raise KeyError(f"stage {name!r} is not in {CATALOG_PATH.name}") from None

    def stage_env(self, name: str) -> dict[str, str]:
        """The plain env of a stage: shared env, then LLM env for LLM stages, then the stage's own."""
        stage = self.stage(name)
        return {**self.env, **(self.llm_env if stage.llm else {}), **stage.env}


def _stage(name: str, raw: dict[str, Any]) -> Stage:
    lo, hi = raw["durationEstimateMinutes"]
    return Stage(
        name=name,
        image=raw["image"],
        args=list(raw["args"]),
        resources=raw["resources"],
        timeout_minutes=int(raw["timeoutMinutes"]),
        duration_estimate_minutes=(int(lo), int(hi)),
        env=dict(raw.get("env", {})),
        volumes=list(raw.get("volumes", [])),
        llm=bool(raw.get("llm", False)),
        gpu=raw.get("gpu"),
        image_tag_suffix=raw.get("imageTagSuffix", ""),
    )


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("version") != 1:
        raise ValueError(f"{path.name}: unsupported catalog version {raw.get('version')!r}")
    return Catalog(
        namespace=raw["namespace"],
        service_account_name=raw["serviceAccountName"],
        pod_security_context=raw["podSecurityContext"],
        container_security_context=raw["containerSecurityContext"],
        env=dict(raw["env"]),
        secret_env=list(raw["secretEnv"]),
        llm_env=dict(raw["llmEnv"]),
        stages={name: _stage(name, s) for name, s in raw["stages"].items()},
    )
