"""The followup service: satisfaction follow-up, re-handling, closing, and the
notices to complainants.

The notices' outbox, senders and printable documents are in ``notices/``; the
consumer that fills the outbox is ``notifier.py``. Other services use only
``views.py`` (documents, PDFs, channels) and ``code_notice.py`` (intake's
access-code notice, written in intake's transaction). The texts of the
notices are rendered where decisions are made (shared/intake/notices.py).
"""
