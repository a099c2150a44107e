"""``python -m tousu.services.wechat``: run the WeChat adapter with the ``TOUSU_*`` settings."""

from __future__ import annotations

import asyncio

from tousu.services.wechat.main import run
from tousu.shared.settings import load_settings

if __name__ == "__main__":
    asyncio.run(run(load_settings()))
