"""`tousu appraisal` (docs/quality.md)."""

from __future__ import annotations
