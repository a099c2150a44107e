"""Attachments: files that belong to a case's steps (docs/attachments.md).

The bytes live outside the events, in a :class:`~.store.BlobStore` (the data
folder, or S3-compatible object storage), sealed with the complainant's key;
the events name them by :class:`~tousu.shared.events.types.FileRef`.
"""
