"""Fake platform servers speaking real HTTP on loopback, and the plumbing they share."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is asked rather than on its next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stop = asyncio.Event()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the Date header, once
        await self.stop.wait()


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1, on a free port, inside the running loop.

    Entering starts ``uvicorn.Server.serve`` as a task and returns once it accepts connections;
    leaving asks it to exit and waits for it, so nothing outlives the test.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,  # a free one; read back below
            lifespan="off",
            log_config=None,  # leave the test's logging alone
            log_level="warning",
            access_log=False,
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
            # uvicorn closes idle keep-alive connections after 5 s by default; a client that
            # reuses one just then gets a ReadError. Real servers keep them far longer, and on
            # a loaded machine that race lost the echo bot a reply in the benchmark.
            timeout_keep_alive=75,
        )
        server = self._server = _Server(config)
        task = self._task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("uvicorn stopped before it served")
            await asyncio.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.stop.set()
            await self._task


__all__ = ["LoopbackServer"]
