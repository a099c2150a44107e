"""The metrics service: projections, KPIs, deadline watch."""
