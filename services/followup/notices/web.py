"""Web notices: nothing leaves the system; the public lookup page shows them."""

from __future__ import annotations

from tousu.services.followup.notices.model import Notification


class WebSender:
    async def send(self, n: Notification) -> str:
        # Being in the outbox is being published: the lookup page reads it there.
        return f"web:{n.id}"
