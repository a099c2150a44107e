"""Intake data and rules: scope taxonomy, service commitments, identifiers, duplicates, notices."""
