"""The relay: publishes stored events to JetStream in commit order.

One relay is active at a time (a PostgreSQL advisory lock elects it); the
others stand by and take over when the leader's database session ends.
"""

from tousu.shared.relay.acks import PublishRejected
from tousu.shared.relay.leader import AdvisoryLeader, Lease
from tousu.shared.relay.publisher import PublishFailed, Relay, RelayStats
from tousu.shared.relay.service import run

__all__ = [
    "AdvisoryLeader",
    "Lease",
    "PublishFailed",
    "PublishRejected",
    "Relay",
    "RelayStats",
    "run",
]
