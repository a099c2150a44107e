"""``python -m tousu.services.relay``: run a relay configured from ``TOUSU_*``."""

import asyncio

from tousu.services.relay.main import run
from tousu.shared.settings import load_settings

if __name__ == "__main__":
    asyncio.run(run(load_settings()))
