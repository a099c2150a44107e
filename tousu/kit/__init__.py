"""tousu's adapter kit: what a channel adapter or a department's own system
needs to talk to tousu over NATS, and nothing of tousu's insides.

- :class:`ChannelClient` files complaints (with retries and deduplication by
  the adapter's reference), uploads their files, reads their status back;
- :class:`DepartmentClient` follows a department's cases (a durable
  JetStream consumer that resumes where it stopped) and sends the
  department's steps (claim, investigation, progress, resolve, feedback ...);
- :class:`Refused` and :class:`Unavailable` are what they raise.

It uses only nats-py, httpx, jsonschema and the standard library, and imports
nothing else of tousu (an import-linter contract checks it), so that it can be
copied or vendored alone. docs/integrations.md is the guide.
"""

from tousu.kit.channel import ChannelClient, Published, Submitted
from tousu.kit.department import DepartmentClient, Event
from tousu.kit.errors import KitError, Refused, Unavailable
from tousu.kit.transport import Retry

__all__ = [
    "ChannelClient",
    "DepartmentClient",
    "Event",
    "KitError",
    "Published",
    "Refused",
    "Retry",
    "Submitted",
    "Unavailable",
]
