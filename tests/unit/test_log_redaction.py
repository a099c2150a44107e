"""What a log line may not carry: access codes, search terms and contact
details, whether they come as a URL's query, a field or free text."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from tousu.shared.logs import REDACTED, configure_logging, get_logger, redact_text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '127.0.0.1:5 - "GET /api/v1/public/complaints/TS1?code=AB12CD34 HTTP/1.1" 200',
            f'127.0.0.1:5 - "GET /api/v1/public/complaints/TS1?code={REDACTED} HTTP/1.1" 200',
        ),
        (
            "GET /api/v1/complaints?status=received&q=%E5%BC%A0%E4%B8%89&limit=5",
            f"GET /api/v1/complaints?status=received&q={REDACTED}&limit=5",
        ),
        ("GET /staff/cases?Q=13900001111", f"GET /staff/cases?Q={REDACTED}"),
        ("550 5.1.1 <li.si@example.com>: no such user", f"550 5.1.1 <{REDACTED}>: no such user"),
        ("call +86 13912345678 back", f"call {REDACTED} back"),
        # Not personal: left as they are.
        ("postgresql://tousu@127.0.0.1:15432/tousu", None),
        ("GET /x?barcode=1&zip=2&department=water", "GET /x?barcode=1&zip=2&department=water"),
        ("TS2611-00001-00001 5f0e6a9c-3b1d-4d0a-9a53-613912345678", None),
    ],
)
def test_redact_text(line: str, expected: str | None) -> None:
    assert redact_text(line) == (line if expected is None else expected)


def test_no_structlog_or_stdlib_line_carries_them(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    configure_logging("test", "INFO", "json")
    try:
        get_logger("t").info(
            "search", q="13900001111", access_code="AB12CD34", phone="138****5678", n=3
        )
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/p/TS1?code=AB12CD34", "1.1", 200
        )
        try:
            raise ValueError("bad input_value='13900001111'")
        except ValueError:
            get_logger("t").exception("failed", reply=b"to li.si@example.com")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    text = out.getvalue()
    assert [s for s in ("AB12CD34", "13900001111", "li.si@") if s in text] == []
    assert "ValueError" in lines[2]["exception"] and lines[2]["reply"] == f"to {REDACTED}"
    assert (lines[0]["q"], lines[0]["access_code"], lines[0]["phone"], lines[0]["n"]) == (
        REDACTED,
        REDACTED,
        "138****5678",
        3,
    )
    assert f"?code={REDACTED}" in lines[1]["event"]


def test_secrets_of_integrations_never_reach_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel's or department's credential and a webhook's signing secret,
    should a line ever name them, are cut as a password is."""
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    configure_logging("test", "INFO", "json")
    try:
        get_logger("t").info("sent", credential="v1.eyJraW5kIjoi.c2lnbmF0dXJl", secret="whsec-x1")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert (line["credential"], line["secret"]) == (REDACTED, REDACTED)


def test_a_line_below_the_level_is_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """A debug line per handled event must cost next to nothing at INFO: it
    stops before any processor (context merged, text redacted, time stamped)."""
    import tousu.shared.logs as logs

    redacted: list[str] = []
    original = logs.redact

    def counting(logger: object, method: str, event_dict: dict[str, object]) -> dict[str, object]:
        redacted.append(str(event_dict.get("event")))
        return original(logger, method, event_dict)

    monkeypatch.setattr(logs, "redact", counting)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    configure_logging("probe", "INFO", "json")
    try:
        log = get_logger("tousu.probe")
        log.debug("not written")
        log.info("written")
    finally:
        structlog.reset_defaults()
    assert "not written" not in redacted
    assert "written" in redacted
