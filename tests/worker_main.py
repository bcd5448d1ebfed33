"""One queue worker process for the PostgreSQL tests: an Engine(worker=True) until SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from tuiapp.config import load_settings
from tuiapp.engine import Engine


async def main() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Engine(load_settings(), worker=True, schedule=True):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
