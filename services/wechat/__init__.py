"""The WeChat official account (微信公众号) as a channel: an adapter process that
answers the account's server callbacks and talks to tousu only through the
adapter kit (``tousu.kit``), as an outside author's adapter would.

``signature.py`` checks that a callback comes from WeChat, ``messages.py``
reads its XML and writes the passive reply, ``dialogue.py`` is the short
guided dialogue that gathers a complaint, ``app.py`` the ASGI app tying them
to the kit, ``main.py`` the process (``python -m tousu.services.wechat``).
docs/wechat.md says how to set up the account.
"""
