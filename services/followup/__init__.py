"""The followup service: satisfaction follow-up, re-handling, closing."""
