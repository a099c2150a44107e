"""Staff complaint routes: actions sent as commands over NATS, and the read side.

The case list reads the metrics service's ``case_view`` projection through its views.
"""
