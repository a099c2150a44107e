"""The quality inspection (定期检查/抽查, policy 一(五)1): a month's sample of
closed cases, drawn at random from a recorded seed, and reviews of them
against a versioned checklist (docs/quality-inspection.md)."""
