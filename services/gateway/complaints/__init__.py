"""Staff complaint routes: actions sent as commands over NATS, and the read side.

Kept free of FastAPI at import time so that the metrics service can import the
case-index consumer (:mod:`services.gateway.complaints.index`) alone.
"""
