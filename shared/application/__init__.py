"""The service layer: load a complaint, decide, append — and the NATS command endpoint."""
