"""Improvement items (整改跟踪): what a result feedback promised, tracked to the end."""
