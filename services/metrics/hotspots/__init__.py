"""Recurring problems and trends (热点诉求): terms per complaint, counts per
week and month, surge detection and the alerts it raises (docs/quality-hotspots.md)."""
