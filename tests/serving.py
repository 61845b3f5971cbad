"""Run a real `listening-post serve` process for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serve(tmp_path: Path, **extra_env: str) -> Iterator[Served]:
    """`listening-post serve` on a free port with its own SQLite file, stopped with SIGTERM."""
    port = free_port()
    env = dict(os.environ)  # LP_ variables were removed for the test
    env.update(
        LP_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path / 'served.db'}",
        LP_SERVER__PORT=str(port),
        LP_SERVER__SECRET_KEY="served-test-secret-" + "y" * 32,
    )
    env.update(extra_env)
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, check=True, timeout=120)
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        served = Served(f"http://127.0.0.1:{port}", process, log)
        try:
            wait_until_healthy(served)
            yield served
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=30)


def wait_until_healthy(served: Served) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{served.log.read_text()}")
        try:
            if httpx.get(f"{served.base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become healthy within 60 s")
