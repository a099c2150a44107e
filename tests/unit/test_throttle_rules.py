"""Which requests the per-IP limits count, and how If-Match names a version."""

from __future__ import annotations

import pytest

from tousu.services.gateway.complaints.versions import etag, expected_version
from tousu.services.gateway.problems import BadRequest
from tousu.services.gateway.throttle.middleware import rule_for


@pytest.mark.parametrize(
    ("method", "path", "rule"),
    [
        ("POST", "/api/v1/public/complaints", "submit"),
        ("POST", "/complaints/new", "submit"),
        ("POST", "/open311/v2/requests.json", "submit"),
        ("GET", "/api/v1/public/complaints/TS2603-0001-00", "lookup"),
        ("GET", "/api/v1/public/complaints/TS2603-0001-00/notices/n1.pdf", "lookup"),
        ("POST", "/track", "lookup"),
        ("POST", "/api/v1/public/complaints/TS2603-0001-00/follow-up", "survey"),
        ("POST", "/track/follow-up", "survey"),
        ("POST", "/api/v1/auth/token", "login"),
        ("POST", "/staff/login", "login"),
        ("GET", "/track", None),  # the form itself
        ("GET", "/api/v1/public/commitments", None),
        ("GET", "/open311/v2/requests.json", None),
        ("POST", "/api/v1/complaints", None),  # staff registration: signed in
        ("POST", "/staff/cases/x/claim", None),
    ],
)
def test_rule_for(method: str, path: str, rule: str | None) -> None:
    assert rule_for(method, path) == rule


def test_if_match() -> None:
    assert expected_version(etag(7)) == 7
    assert expected_version('W/"12"') == 12
    assert expected_version("3") == 3
    assert expected_version(None) is None
    assert expected_version("*") is None
    for bad in ("", '"seven"', '"1", "2"', "-1"):
        with pytest.raises(BadRequest):
            expected_version(bad)
