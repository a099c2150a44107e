"""Personal data of complainants: sealed in events with a key per complainant,
revealed where needed, masked for roles that do not need it, every full view
logged, and erased by destroying the key (issue 7, docs/status.md)."""
