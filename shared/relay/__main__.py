"""``python -m shared.relay``: run a relay configured from ``TOUSU_*``."""

import asyncio

from shared.relay.service import run
from shared.settings import Settings

if __name__ == "__main__":
    asyncio.run(run(Settings()))
