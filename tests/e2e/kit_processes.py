"""What the adapter kit's end-to-end tests share: the examples run as the
outside programs they are, and the gateway as its own process (an adapter
uploads over real HTTP)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.helpers import REPO, eventually
from tests.processes import spawn, stop
from tousu.embedded.ports import free_port

EXAMPLES = REPO / "docs" / "examples"


def example_env(base: dict[str, str], **values: str) -> dict[str, str]:
    """An example's environment: ``values`` and the system's, nothing of the tests'."""
    env = {k: v for k, v in base.items() if not k.startswith("TOUSU_")}
    # The example imports tousu.kit from this checkout, as an author's copy would.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), base.get("PYTHONPATH")]))
    return env | values


async def run_example(
    name: str, env: dict[str, str], *args: str, cwd: Path, timeout: float = 120
) -> tuple[int, str, str]:
    """Run ``docs/examples/<name>`` to its end: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def start_example(
    name: str, env: dict[str, str], output: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """Start ``docs/examples/<name>`` in the background, its output appended to ``output``."""
    with output.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(EXAMPLES / name)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def gateway_process(child_env: dict[str, str], logs: Path) -> AsyncIterator[str]:
    """`tousu service gateway` on a free port; yields its base URL once it is ready."""
    port = free_port()
    env = child_env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "127.0.0.1"}
    proc = spawn("gateway", env, logs)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz", timeout=1.0)).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, "the gateway to answer", timeout=60)
        yield url
    finally:
        stop(proc)
