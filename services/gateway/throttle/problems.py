"""The 429 every throttled request gets, with Retry-After and a zh/en message."""

from __future__ import annotations

from typing import Any, ClassVar

from tousu.services.gateway.problems import DomainProblem, Msg, Text

TOO_MANY = Text("请求过于频繁，请稍后再试", "Too many requests: please try again later")
LOOKUP_LOCKED = Text(
    "该受理编号查询失败次数过多，已暂时锁定，请稍后再试",
    "Too many failed look-ups for this tracking number: it is locked for a while, try later",
)
LOGIN_LOCKED = Text(
    "登录失败次数过多，账号已暂时锁定，请稍后再试",
    "Too many failed sign-ins: the account is locked for a while, try later",
)


class TooManyRequests(DomainProblem):
    default_status: ClassVar[int] = 429
    default_code: ClassVar[str] = "too_many_requests"
    default_title: ClassVar[Msg] = Text("请求过于频繁", "Too many requests")

    def __init__(self, detail: Msg, retry_after: int, **kw: Any) -> None:
        minutes = max(1, round(retry_after / 60))
        if isinstance(detail, Text):
            detail = Text(
                f"{detail.zh}（约 {minutes} 分钟后）", f"{detail.en} (in about {minutes} min)"
            )
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **kw
        )
