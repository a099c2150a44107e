"""The revoked credentials' ids reach every process of both deployments: a
revocation that one process never sees leaves the credential working there."""

from __future__ import annotations

from tests.deploy.manifests import compose_config, k8s_documents
from tousu.services import SERVICES

REVOKED = "TOUSU_CREDENTIAL_REVOKED"


def test_compose_passes_the_revoked_ids_to_every_process() -> None:
    services = compose_config()["services"]
    running = {
        tuple(service.get("command") or ()): service["environment"] for service in services.values()
    }
    for process in ("relay", *SERVICES):
        env = running[("service", process)]
        assert REVOKED in env, f"{process} does not get {REVOKED}"


def test_every_kubernetes_process_reads_the_revoked_ids_from_the_config_map() -> None:
    docs = list(k8s_documents())
    (config,) = [
        d for _, d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "tousu-config"
    ]
    assert REVOKED in config["data"]
    for _, doc in docs:
        if doc["kind"] != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            if container.get("args", [None])[0] not in ("service", "migrate"):
                continue
            sources = {
                source.get("configMapRef", {}).get("name")
                for source in container.get("envFrom", [])
            }
            assert "tousu-config" in sources, doc["metadata"]["name"]
