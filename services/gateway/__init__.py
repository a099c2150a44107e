"""The gateway: the one HTTP front door (API and web pages)."""
