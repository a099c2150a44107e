"""tousu's services. Each is its own process: `tousu service <name>`."""

SERVICES: tuple[str, ...] = ("intake", "routing", "handling", "followup", "metrics", "gateway")
