"""Run the app on uvicorn until SIGTERM or Ctrl-C, then shut down gracefully.

On SIGTERM (or SIGINT) uvicorn stops accepting connections, lets the requests in flight finish (for
at most `shutdown_timeout` seconds), then the app's lifespan ends: the batcher decodes what is still
queued and stops. `run_server` then returns the signal that stopped it, instead of dying of it.
"""
import asyncio
import logging
import signal
from typing import Callable, Optional

import uvicorn

from .config import ServeConfig
from .limits import ServeError

__all__ = ["run_server"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def _serve(server: uvicorn.Server, started: Callable[[str, int], None]):
    "Serve, calling `started(host, port)` once the socket is bound (the port is known even for --port 0)."
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done(): await asyncio.sleep(0.02)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        started(host, port)
    await task


def run_server(app, cfg: ServeConfig, started: Callable[[str, int], None] = lambda h, p: None) -> Optional[int]:
    """Serve `app` on `cfg.host:cfg.port` until a signal; returns that signal's number (None if
    uvicorn stopped for another reason, e.g. the port was taken: uvicorn logs why)."""
    server = uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_config=None, access_log=False,
                                           timeout_graceful_shutdown=cfg.shutdown_timeout, lifespan="on",
                                           server_header=False))
    got = []
    # uvicorn re-raises the signal it caught once it has shut down; catch it here instead of dying of it
    prev = {s: signal.signal(s, lambda n, f: got.append(n)) for s in _SIGNALS}
    try:
        asyncio.run(_serve(server, started))
    except SystemExit:  # uvicorn exits when it cannot bind; it has logged the reason
        raise ServeError(f"cannot listen on {cfg.host}:{cfg.port} (see the log line above)") from None
    finally:
        for s, h in prev.items(): signal.signal(s, h)
    if not server.started and not got: logging.getLogger("seq2seq.serve").error("the server did not start")
    return got[0] if got else None
