"""The relay: publishes stored events to JetStream in commit order.

A process of its own (``tousu service relay``, ``python -m tousu.services.relay``).
One relay is active at a time (a PostgreSQL advisory lock elects it); the
others stand by and take over when the leader's database session ends.
What other services read of the relay goes through :mod:`tousu.services.relay.views`.
"""
