"""The plain event-sourcing peer that `tousu bench peer` measures tousu against (bench-only)."""
