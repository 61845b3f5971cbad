"""Dashboard speed over HTTP: inbox first page, a filtered page, a transcript, the overview.

Seeds a database (default 1,000,000 messages over 50,000 residents; kept between runs and
re-used when it already holds that many), starts a real `listening-post serve` on it, signs
in and times each page sequentially; figures (p50, p95, max in ms) go to
benchmarks/results.json under "dashboard". Target: p95 < 100 ms each, on SQLite and PostgreSQL.

    python benchmarks/bench_dashboard.py [--messages N] [--residents N] [--requests N]
                                         [--databases sqlite,postgres] [--reseed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results_file import RESULTS, record  # noqa: E402
from bot.seed import recount, seed  # noqa: E402
from models.db import Database, upgrade  # noqa: E402
from models.tables import Message, Resident  # noqa: E402

ADMIN_URL = os.environ.get(
    "LP_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
EMAIL, PASSWORD = "bench@example.org", "benchmark passphrase"
TARGET_MS = 100.0


def database_url(kind: str, messages: int) -> str:
    name = f"lp_bench_dashboard_{messages}"
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{ROOT / 'var' / 'bench' / (name + '.db')}"
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def ensure_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop(kind: str, url: str) -> None:
    """Remove a benchmark database so it is seeded again."""
    if kind == "sqlite":
        path = Path(url.split(":///", 1)[1])
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await connection.close()


async def counts(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        async with db.sessions() as session:
            messages = (await session.execute(select(func.count(Message.id)))).scalar_one()
            residents = (await session.execute(select(func.count(Resident.id)))).scalar_one()
    finally:
        await db.dispose()
    return int(messages), int(residents)


async def analyse(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await db.dispose()


def prepare(kind: str, messages: int, residents: int) -> tuple[str, dict[str, float]]:
    """The database URL, seeded (or re-used), with the seconds each step took."""
    url = database_url(kind, messages)
    took: dict[str, float] = {}
    if kind == "postgres":
        asyncio.run(ensure_postgres_database(url))
    upgrade(url)
    have, _ = asyncio.run(counts(url))
    if have < messages * 0.95:
        started = time.perf_counter()
        asyncio.run(seed(url, residents, messages - have))
        took["seed_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        asyncio.run(analyse(url))
        asyncio.run(recount(url))
        took["recount_seconds"] = round(time.perf_counter() - started, 1)
    env = dict(os.environ, LP_DATABASE__URL=url, LP_NEW_PASSWORD=PASSWORD)
    add = [sys.executable, "-m", "bot", "staff", "add", EMAIL, "--role", "admin"]
    subprocess.run(add, env=env, check=True, capture_output=True, timeout=120)
    return url, took


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(url: str) -> Iterator[str]:
    port = free_port()
    env = dict(
        os.environ,
        LP_DATABASE__URL=url,
        LP_SERVER__PORT=str(port),
        LP_SERVER__SECRET_KEY="bench-secret-" + "z" * 40,
        LP_LOGGING__LEVEL="WARNING",
        LP_DASHBOARD__REFRESH_SECONDS="3600",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/staff/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    login = {"email": EMAIL, "password": PASSWORD, "csrf": csrf.group(1)}
    assert client.post("/staff/login", data=login).status_code == 303
    return client


def timed(client: httpx.Client, paths: list[str]) -> dict[str, float]:
    for path in paths[:5]:  # warm up: connections, caches, the first page's templates
        client.get(path)
    samples = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(int(len(samples) * 0.95) - 1, 0)], 1),
        "max_ms": round(samples[-1], 1),
        "requests": len(samples),
    }


def measure(base: str, requests: int, residents: int) -> dict[str, Any]:
    rng = random.Random(11)
    areas = ["LS9", "LS8", "LS6", "LS11", "LS12"]
    themes = ["housing", "money", "transport", "safety", "mental_wellbeing"]
    pages = {
        "inbox_first_page": ["/staff/inbox"] * requests,
        "inbox_filtered": [
            f"/staff/inbox?theme={rng.choice(themes)}&area={rng.choice(areas)}"
            for _ in range(requests)
        ],
        "transcript": [f"/staff/residents/{rng.randint(1, residents)}" for _ in range(requests)],
        "overview": ["/staff/overview"] * requests,
    }
    client = signed_in(base)
    try:
        return {name: timed(client, paths) for name, paths in pages.items()}
    finally:
        client.close()


def seeding_figures(kind: str, messages: int) -> dict[str, float]:
    """How long seeding took in the run that made a re-used database (from results.json)."""
    if not RESULTS.exists():
        return {}
    before = json.loads(RESULTS.read_text()).get("dashboard", {}).get(kind, {})
    if abs(before.get("messages", 0) - messages) > messages * 0.05:
        return {}
    return {k: before[k] for k in ("seed_seconds", "recount_seconds") if k in before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--reseed", action="store_true", help="drop the databases and seed anew")
    args = parser.parse_args()
    figures: dict[str, Any] = {"target_p95_ms": TARGET_MS, "requests_each": args.requests}
    for kind in args.databases.split(","):
        if args.reseed:
            asyncio.run(drop(kind, database_url(kind, args.messages)))
        url, took = prepare(kind, args.messages, args.residents)
        took = took or seeding_figures(kind, args.messages)
        messages, residents = asyncio.run(counts(url))
        with served(url) as base:
            pages = measure(base, args.requests, residents)
        worst = max(page["p95_ms"] for page in pages.values())
        figures[kind] = {
            "messages": messages,
            "residents": residents,
            **took,
            "pages": pages,
            "all_p95_under_target": worst < TARGET_MS,
        }
        print(kind, figures[kind], flush=True)
    record("dashboard", figures)


if __name__ == "__main__":
    main()
