"""deploy/ checked without a container engine: compose and Kubernetes files
validated by the real tools and schemas, every process present with replicas
and probes, every TOUSU_* variable a real setting, NATS configs accepted by
nats-server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.manifests import (
    DEPLOY,
    K8S,
    REPO,
    compose_config,
    k8s_documents,
    setting_variables,
    variables_in,
)
from tousu.embedded.nats_server import find_nats_server
from tousu.services import SERVICES

PROCESSES = ("relay", *SERVICES)  # every `tousu service <name>`
WORKERS = tuple(name for name in PROCESSES if name != "gateway")
METRICS_PORT = 9464  # where the relay and the NATS services serve /healthz, /readyz
K8S_VERSION = "1.30.0"
# (config file, the environment variable naming the node, its route host names)
NATS_CONFIGS = [
    (DEPLOY / "nats" / "cluster.conf", "NATS_SERVER_NAME", ["nats-1", "nats-2", "nats-3"]),
    (
        K8S / "nats.conf",
        "POD_NAME",
        ["nats-0.nats-cluster", "nats-1.nats-cluster", "nats-2.nats-cluster"],
    ),
]


@cache
def compose() -> dict[str, Any]:
    return compose_config()


@cache
def k8s() -> list[tuple[str, dict[str, Any]]]:
    return list(k8s_documents())


def compose_service_running(process: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        service
        for service in compose()["services"].values()
        if service.get("command") == ["service", process]
    ]
    assert len(found) == 1, f"compose.yaml runs `tousu service {process}` {len(found)} times"
    return found[0]


def deployment_running(process: str) -> dict[str, Any]:
    found = [
        doc
        for _, doc in k8s()
        if doc["kind"] == "Deployment"
        and any(
            c.get("args") == ["service", process]
            for c in doc["spec"]["template"]["spec"]["containers"]
        )
    ]
    assert len(found) == 1, f"k8s runs `tousu service {process}` in {len(found)} Deployments"
    return found[0]


def container_env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def probe_target(container: dict[str, Any], probe: str) -> tuple[str, int]:
    """(path, container port number) of an HTTP probe; a named port is resolved."""
    http = container[probe]["httpGet"]
    port = http["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container["ports"] if p["name"] == port)
    return http["path"], int(port)


# -- compose ---------------------------------------------------------------------------


def test_compose_runs_every_process_replicated_after_migrating() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["migrate"]
    for process in PROCESSES:
        service = compose_service_running(process)
        assert service["image"] == services["migrate"]["image"], process
        assert service["deploy"]["replicas"] >= 2, process
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["TOUSU_STREAM_REPLICAS"] == "3", process
        assert env["TOUSU_NATS_URL"] == "nats://nats:4222", process
        assert env["TOUSU_HTTP_HOST"] == "0.0.0.0", f"{process}: probes come from outside"
        port = int(env["TOUSU_HTTP_PORT"] if process == "gateway" else env["TOUSU_METRICS_PORT"])
        assert port == (8080 if process == "gateway" else METRICS_PORT), process
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"]), process
        assert env["TOUSU_ACCESS_CODE_KEY"], f"{process}: one access-code key everywhere"
        assert env["TOUSU_CREDENTIAL_KEY"], f"{process}: one credential key everywhere"
    assert services["gateway"]["environment"]["TOUSU_WEB_SECRET"], "replicas must share the key"


def test_compose_runs_a_three_node_nats_cluster_from_the_config_file() -> None:
    services = compose()["services"]
    nodes = {name: s for name, s in services.items() if s.get("image", "").startswith("nats:")}
    assert sorted(nodes) == ["nats-1", "nats-2", "nats-3"]
    data_volumes = set()
    for name, node in nodes.items():
        assert node["environment"]["NATS_SERVER_NAME"] == name
        config = next(v for v in node["volumes"] if v["target"] == "/etc/nats/cluster.conf")
        assert Path(config["source"]) == DEPLOY / "nats" / "cluster.conf"
        data = next(v for v in node["volumes"] if v["target"] == "/data")
        data_volumes.add(data["source"])
        # The alias every tousu process connects to.
        assert "nats" in node["networks"]["default"]["aliases"]
        assert "/healthz" in " ".join(node["healthcheck"]["test"])
    assert len(data_volumes) == 3, "each node needs a JetStream store of its own"


# -- Kubernetes ------------------------------------------------------------------------


def test_kubernetes_manifests_are_valid_against_the_schema() -> None:
    assert k8s(), "kustomization.yaml lists no manifest"
    for name, doc in k8s():
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {error.message}")


def test_the_schema_check_catches_a_misspelt_field() -> None:
    _, deployment = next((n, d) for n, d in k8s() if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_applies_every_manifest_in_the_folder() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    for generator in kustomization["configMapGenerator"]:
        for file in generator["files"]:
            assert (K8S / file).is_file(), file


def test_kubernetes_runs_every_process_replicated_with_health_probes() -> None:
    for process in PROCESSES:
        deployment = deployment_running(process)
        assert deployment["spec"]["replicas"] >= 2, process
        pod = deployment["spec"]["template"]["spec"]
        assert [c["args"] for c in pod["initContainers"]] == [["migrate"]], process
        (container,) = pod["containers"]
        env = container_env(container)
        port = int(env["TOUSU_HTTP_PORT"] if process == "gateway" else env["TOUSU_METRICS_PORT"])
        assert port == (8080 if process == "gateway" else METRICS_PORT), process
        assert probe_target(container, "livenessProbe") == ("/healthz", port), process
        assert probe_target(container, "readinessProbe") == ("/readyz", port), process
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == {"tousu-config", "tousu-secrets"}, process


def test_kubernetes_runs_a_three_node_nats_statefulset_and_three_stream_replicas() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in k8s()}
    nats = docs["StatefulSet", "nats"]
    assert nats["spec"]["replicas"] == 3
    assert docs["Service", nats["spec"]["serviceName"]]["spec"]["clusterIP"] == "None"
    assert [t["metadata"]["name"] for t in nats["spec"]["volumeClaimTemplates"]] == ["jetstream"]
    (container,) = nats["spec"]["template"]["spec"]["containers"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        path, port = probe_target(container, probe)
        assert path.startswith("/healthz") and port == 8222, probe
    config = docs["ConfigMap", "tousu-config"]["data"]
    assert config["TOUSU_STREAM_REPLICAS"] == "3"
    assert config["TOUSU_NATS_URL"] == "nats://nats:4222"
    assert config["TOUSU_HTTP_HOST"] == "0.0.0.0", "probes come from outside the container"
    assert {"TOUSU_WEB_SECRET", "TOUSU_ACCESS_CODE_KEY", "TOUSU_CREDENTIAL_KEY"} <= set(
        docs["Secret", "tousu-secrets"]["stringData"]
    )


# -- both ------------------------------------------------------------------------------


def test_every_tousu_variable_deploy_sets_is_a_real_setting() -> None:
    known = setting_variables()
    assert {"TOUSU_DATABASE_URL", "TOUSU_AUTO_ROUTE", "TOUSU_SMTP_FROM"} <= known
    assert "TOUSU_NOT_A_SETTING" not in known
    used: dict[str, set[str]] = {}
    for path in DEPLOY.rglob("*"):
        if path.is_file() and "grafana" not in path.parts and path.suffix != ".md":
            for variable in variables_in(path.read_text(encoding="utf-8")):
                used.setdefault(variable, set()).add(str(path.relative_to(DEPLOY)))
    for service in compose()["services"].values():
        for variable in variables_in(" ".join(service.get("environment", {}))):
            used.setdefault(variable, set()).add("compose.yaml")
    unknown = {variable: files for variable, files in used.items() if variable not in known}
    assert not unknown, f"not settings of tousu: {unknown}"
    assert len(used) >= 15


def test_the_image_installs_every_package_of_the_project() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN pip install \.", dockerfile, re.MULTILINE)
    assert 'ENTRYPOINT ["tousu"]' in dockerfile
    copied = {
        source
        for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE)
        for source in line.split()[:-1]
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages | {"pyproject.toml", project["project"]["readme"]} <= copied
    for source in copied:
        assert (REPO / source).exists(), source


# -- NATS configuration ----------------------------------------------------------------


def nats_server_check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(find_nats_server()), "-t", "-c", str(config)],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(("config", "name_variable", "hosts"), NATS_CONFIGS)
def test_nats_config_is_accepted_by_nats_server(
    config: Path, name_variable: str, hosts: list[str]
) -> None:
    result = nats_server_check(config, {name_variable: "node-a"})
    assert result.returncode == 0, result.stdout + result.stderr
    text = config.read_text()
    assert re.findall(r"nats-route://([\w.-]+):6222", text) == hosts
    assert 'store_dir: "/data/jetstream"' in text


def test_nats_server_check_refuses_a_broken_config(tmp_path: Path) -> None:
    config, name_variable, _ = NATS_CONFIGS[0]
    broken = tmp_path / "broken.conf"
    shutil.copy(config, broken)
    broken.write_text(broken.read_text().replace("  port: 6222", "  port: many"))
    assert nats_server_check(broken, {name_variable: "node-a"}).returncode != 0
    assert nats_server_check(config, {}).returncode != 0, "the node name must be required"
