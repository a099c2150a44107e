"""Department webhooks: the events of a department's cases POSTed, signed, to
its own system, from the followup service's own tables (docs/webhooks.md).

``endpoints`` keeps each department's URL and sealed secret; the consumer
``webhooks`` (``consumer``) writes one delivery per (department, event) in the
transaction of its tracking row; the ``WebhookDispatcher`` posts them in
order, retries with back-off and logs every attempt; ``deliveries`` reads the
log and replays from a point.
"""
