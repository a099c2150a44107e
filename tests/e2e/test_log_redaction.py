"""No access code, phone number or search term in any log file after a session
that used them: the gateway runs as its own process writing its log to a
file (its access log on), beside the NATS services writing theirs, and the
files are grepped afterwards."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.e2e.kit import Headers
from tests.helpers import eventually
from tests.processes import spawn, stop
from tousu.embedded.ports import free_port
from tousu.shared.settings import Settings

PHONE = "13977770123"
NAME = "钱多多"
EMAIL = "qian.duoduo@example.com"


def _log_text(*folders: Path) -> str:
    files = [p for folder in folders for p in folder.rglob("*.log") if p.is_file()]
    assert files, "no log file written"
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


async def test_no_access_code_or_phone_number_in_any_log_file(
    running_services: Path,
    child_env: dict[str, str],
    settings: Settings,
    staff: dict[str, Headers],
    tmp_path: Path,
) -> None:
    port = free_port()
    env = child_env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "127.0.0.1"}
    proc = spawn("gateway", env, running_services)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz", timeout=1.0)).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, "the gateway to answer", timeout=60)
            filed = await client.post(
                "/api/v1/public/complaints",
                json={
                    "subject": "噪音扰民",
                    "description": "夜间施工噪音",
                    "complainant": {"name": NAME, "phone": PHONE, "email": EMAIL},
                },
            )
            assert filed.status_code == 201, filed.text
            tracking_no, code = filed.json()["tracking_no"], filed.json()["access_code"]
            assert code

            # The citizen follows the case with the number and the code, in the URL.
            lookup = await client.get(f"/api/v1/public/complaints/{tracking_no}?code={code}")
            assert lookup.status_code == 200, lookup.text
            wrong = await client.get(
                f"/api/v1/public/complaints/{tracking_no}", params={"code": "x"}
            )
            assert wrong.status_code == 404
            # Staff search by the complainant's phone number, name and e-mail.
            for term in (PHONE, NAME, EMAIL):
                found = await client.get(
                    "/api/v1/complaints", params={"q": term}, headers=staff["op-li"]
                )
                assert found.status_code == 200, found.text
    finally:
        stop(proc)

    logs = _log_text(running_services, settings.data_dir, tmp_path)
    # The session was logged (the access log is on) ...
    assert tracking_no in logs and "/api/v1/complaints?" in logs
    # ... without any of what identifies the complainant or opens the case.
    secrets = (code, PHONE, NAME, EMAIL, quote(NAME), quote(EMAIL))
    leaked = [s for s in secrets if s in logs or s.lower() in logs.lower()]
    assert leaked == []

    # What the services wrote into the data folder (keys) is the owner's only.
    written = [settings.data_dir, *settings.data_dir.rglob("*")]
    assert len(written) > 1
    modes = {str(p): stat.S_IMODE(p.stat().st_mode) for p in written}
    assert {p: m for p, m in modes.items() if m & 0o077} == {}
