"""KPIs and the overdue list, read from the metrics service's projections."""
