"""A 3-node NATS cluster of local nats-server processes, for tests that kill nodes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tousu.embedded.nats_server import find_nats_server
from tousu.embedded.ports import LOOPBACK, free_port

CLUSTER_NAME = "tousu-test"


@dataclass
class Node:
    name: str
    store_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def route(self) -> str:
        return f"nats://{LOOPBACK}:{self.cluster_port}"

    def monitor(self, path: str) -> dict[str, Any] | None:
        """A monitoring endpoint's JSON (an error status's too), or None while it is down."""
        url = f"http://{LOOPBACK}:{self.monitor_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:  # /healthz says why with a 503
            try:
                return dict(json.loads(error.read()))
            except ValueError:
                return None
        except (OSError, ValueError):
            return None


class NatsCluster:
    """Three JetStream nodes routed to each other; each may be killed and restarted."""

    def __init__(self, root: Path) -> None:
        self.nodes = [
            Node(f"n{i}", root / f"n{i}" / "jetstream", root / f"n{i}.log") for i in (1, 2, 3)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def start(self, node: Node) -> None:
        node.store_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(find_nats_server()),
            "--server_name", node.name,
            "--addr", LOOPBACK,
            "--port", str(node.port),
            "--http_port", str(node.monitor_port),
            "--jetstream",
            "--store_dir", str(node.store_dir),
            "--cluster_name", CLUSTER_NAME,
            "--cluster", node.route,
            "--routes", ",".join(other.route for other in self.nodes),
        ]  # fmt: skip
        with node.log_path.open("ab") as log:
            node.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, node: Node) -> None:
        """SIGKILL: no lame-duck mode, no flush, as when a machine dies."""
        assert node.process is not None
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=10)
        node.process = None

    def stop(self, node: Node) -> None:
        """SIGTERM: nats-server's clean shutdown (JetStream flushes its store)."""
        assert node.process is not None
        node.process.terminate()
        node.process.wait(timeout=10)
        node.process = None

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
                node.process = None

    async def has_meta_leader(self) -> bool:
        """Every node is up and agrees on one JetStream meta leader of a 3-peer group."""
        answers = await asyncio.gather(
            *(asyncio.to_thread(node.monitor, "/jsz") for node in self.nodes)
        )
        leaders = set()
        for jsz in answers:
            meta = (jsz or {}).get("meta_cluster") or {}
            if meta.get("cluster_size") != len(self.nodes):
                return False
            leaders.add(meta.get("leader"))
        return len(leaders) == 1 and None not in leaders and "" not in leaders

    async def local_messages(self, node: Node, stream: str) -> int | None:
        """Messages of ``stream`` in ``node``'s own replica (not the leader's word)."""
        jsz = await asyncio.to_thread(node.monitor, "/jsz?accounts=true&streams=true")
        for account in (jsz or {}).get("account_details") or []:
            for detail in account.get("stream_detail") or []:
                if detail.get("name") == stream:
                    return int(detail["state"]["messages"])
        return None
