"""What the rest of tousu reads of the improvement items (整改跟踪): lists by
department and status, one case's items, and the overdue items the appraisal
counts. The queries are ``table``'s; this module is their one face outside
metrics."""

from __future__ import annotations

from tousu.services.metrics.improvements.table import (
    STATUSES,
    Item,
    ItemStatus,
    OverdueItem,
    item,
    items_of_case,
    list_items,
    open_overdue,
    overdue_items,
)

__all__ = [
    "STATUSES",
    "Item",
    "ItemStatus",
    "OverdueItem",
    "item",
    "items_of_case",
    "list_items",
    "open_overdue",
    "overdue_items",
]
