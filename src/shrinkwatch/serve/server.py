"""Running the app: :func:`serve` for ``shrinkwatch serve`` (uvicorn in the foreground) and :func:`background`,
which starts the same server in a thread on a free loopback port (the tests and ``benchmarks/bench_serve.py``
talk to it over real HTTP)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from shrinkwatch.core.errors import OptionError
from shrinkwatch.datasets import REGISTRY
from shrinkwatch.serve.app import create_app
from shrinkwatch.serve.dashboard import warm
from shrinkwatch.serve.security import ServeSettings
from shrinkwatch.serve.workspace import Workspace

__all__ = ["serve", "background", "Running"]

log = logging.getLogger("shrinkwatch.serve")


def _config(app: FastAPI, settings: ServeSettings, **extra: object) -> uvicorn.Config:
    return uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                          server_header=False, proxy_headers=False, timeout_keep_alive=5,
                          limit_concurrency=200, **extra)  # type: ignore[arg-type]


def serve(settings: ServeSettings, say: Callable[[str], None] = print) -> None:
    """Load the datasets given at start, then serve until interrupted."""
    workspace = Workspace(settings)
    workspace.preload(say)
    app = create_app(settings, workspace)
    # the maps of the datasets given at start are projected in the background while the server starts listening
    names = [d if d in REGISTRY else Path(d).resolve().name for d in settings.datasets]
    threading.Thread(target=_warm_maps, args=(workspace, names), daemon=True, name="shrinkwatch-warm").start()
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    say(f"ShrinkWatch on http://{shown}:{settings.port}/ (API docs: /docs)"
        + ("; every request needs the token" if settings.token else "; this machine only"))
    server = uvicorn.Server(_config(app, settings))
    try:
        server.run()
    except OSError as error:  # pragma: no cover - the port is taken
        raise OptionError(f"--port {settings.port}: cannot listen on {settings.host} ({error})") from None
    if not server.started:
        raise OptionError(f"--host {settings.host} --port {settings.port}: the server could not start (is the port "
                          "in use?)")


def _warm_maps(workspace: Workspace, names: list[str]) -> None:
    for name in names:
        try:
            warm(workspace, name)
        except Exception:  # the page's own request reports the error
            log.warning("could not prepare the map of %s", name, exc_info=True)


@dataclass
class Running:
    """A server running in a thread: its base URL and how to stop it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    app: FastAPI

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def background(settings: ServeSettings | None = None, workspace: Workspace | None = None,
               timeout: float = 30.0, app: FastAPI | None = None) -> Iterator[Running]:
    """A real server (uvicorn, HTTP on a socket) on a free loopback port in a thread, stopped on exit (``app``:
    that app instead of a new one, such as a benchmark's baseline)."""
    settings = settings or ServeSettings()
    app = app or create_app(settings, workspace)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, settings))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="shrinkwatch-serve")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    running = Running(f"http://127.0.0.1:{port}", server, thread, app)
    try:
        yield running
    finally:
        running.stop()
        sock.close()
