"""`listening-post updates create|list|show|send|cancel`, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.base import utcnow
from models.db import Database
from tests.updates.seeding import Someone, seed


@pytest.fixture
def env(sqlite_url: str) -> dict[str, str]:
    clean = dict(os.environ)  # LP_ variables were removed for the test
    clean["LP_DATABASE__URL"] = sqlite_url
    return clean


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "updates", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def residents(url: str, count: int) -> None:
    async def main() -> None:
        db = Database(url)
        async with db.transaction() as session:
            for n in range(count):
                await seed(session, Someone(f"r{n}", channel="web"), utcnow())
        await db.dispose()

    asyncio.run(main())


def test_create_prints_the_id_and_audience_then_list_show_cancel(
    env: dict[str, str], sqlite_url: str, tmp_path: Path
) -> None:
    residents(sqlite_url, 6)
    made = run(
        env,
        "create",
        "--title",
        "Damp repairs",
        "--body",
        "The council treated damp in 40 flats.",
        "--theme",
        "housing",
        "--theme",
        "money",
        "--send-at",
        "2099-03-01T10:00",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout == "id: 1\naudience: 6\n"
    assert "scheduled for 2099-03-01T10:00:00+00:00" in made.stderr  # London in winter: UTC

    listed = run(env, "list")
    assert listed.stdout.split("\t")[:2] == ["1", "scheduled"]
    shown = run(env, "show", "1").stdout
    assert "audience now: 6" in shown
    assert "You said, we did: Damp repairs" in shown
    assert "buttons: Yes / Not really / Tell us more" in shown

    assert run(env, "cancel", "1").returncode == 0
    again = run(env, "cancel", "1")
    assert again.returncode == 2 and "nothing left to cancel" in again.stderr
    assert run(env, "show", "9").returncode == 1


def test_a_draft_is_sent_later_and_small_audiences_are_suppressed(
    env: dict[str, str], sqlite_url: str
) -> None:
    residents(sqlite_url, 2)
    made = run(env, "create", "--title", "T", "--body", "B", "--theme", "housing")
    assert made.stdout == "id: 1\naudience: fewer than 5\n"
    assert "a draft" in made.stderr
    assert run(env, "send", "1").returncode == 0
    assert "scheduled" in run(env, "list").stdout


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--theme", "nope"], "unknown theme"),
        (["--theme", "housing", "--send-at", "tomorrow"], "not an ISO 8601 time"),
        (["--theme", "housing", "--done-on", "yesterday"], "not a date"),
    ],
)
def test_mistakes_say_what_is_wrong_and_change_nothing(
    env: dict[str, str], args: list[str], problem: str
) -> None:
    answer = run(env, "create", "--title", "T", "--body", "B", *args)
    assert answer.returncode == 2
    assert problem in answer.stderr
    assert run(env, "list").stdout == ""
