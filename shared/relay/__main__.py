"""``python -m tousu.shared.relay``: run a relay configured from ``TOUSU_*``."""

import asyncio

from tousu.shared.relay.service import run
from tousu.shared.settings import Settings

if __name__ == "__main__":
    asyncio.run(run(Settings()))
