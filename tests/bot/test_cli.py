"""The command line as a newcomer uses it: migrate, chat piped, staff add, resident export/erase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONVERSATION = [
    "hello",
    "the park and my neighbours",
    "the damp in the flat, and money is tight",
    "skip",
    "a walking group would be nice",
    "people who live here",
    "2",
    "M14",
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = dict(os.environ)  # LP_ variables were removed for the test
    clean["LP_DATABASE__URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return clean


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


def test_a_whole_conversation_piped_through_chat(env: dict[str, str]) -> None:
    done = run(env, "chat", "--as", "pat", stdin="\n".join(CONVERSATION) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "What matters most to you about living round here?" in out
    assert "  1. Yes please" in out and "  2. No thanks" in out
    assert "Which area do you live in?" in out
    assert "that's everything" in out.lower()
    exported = run(env, "resident", "export", "--channel", "console", "--address", "pat")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["resident"]["area"] == "M14"
    consent = data["consents"][0]
    assert (consent["purpose"], consent["granted"]) == ("hear_back", False)
    said = [m["text"] for m in data["messages"] if m["direction"] == "in"]
    assert said == CONVERSATION
    damp = next(m for m in data["messages"] if "damp" in m["text"])
    assert {"housing", "money"} <= {t["label"] for t in damp["tags"]}
    erased = run(env, "resident", "erase", "--channel", "console", "--address", "pat")
    assert erased.returncode == 0
    gone = run(env, "resident", "export", "--channel", "console", "--address", "pat")
    assert gone.returncode == 1


def test_a_crisis_in_the_terminal_chat_gets_the_crisis_reply_and_an_alert(
    env: dict[str, str],
) -> None:
    # no risk phrase in it: the risk encoder is what reads it as risk
    said = "Sold my bike and paid back everyone I owe. Feels like closing the book"
    done = run(env, "chat", "--as", "sam", stdin=f"hello\n{said}\nskip\n")
    assert done.returncode == 0, done.stderr
    after = done.stdout.split("closing the book", 1)[-1]
    assert "116 123" in after and "999" in after
    exported = run(env, "resident", "export", "--channel", "console", "--address", "sam")
    data = json.loads(exported.stdout)
    message = next(m for m in data["messages"] if m["text"] == said)
    assert "suicide_self_harm" in {t["label"] for t in message["tags"]}


def test_chat_can_start_another_flow(env: dict[str, str]) -> None:
    done = run(env, "chat", "--as", "pat", "--flow", "pulse", stdin="Better\n")
    assert done.returncode == 0, done.stderr
    assert "What matters most" not in done.stdout
    unknown = run(env, "chat", "--flow", "nope", stdin="hi\n")
    assert unknown.returncode == 2


def test_staff_add_takes_the_password_from_the_environment(env: dict[str, str]) -> None:
    env["LP_NEW_PASSWORD"] = "a long enough password"
    assert run(env, "migrate").returncode == 0
    done = run(env, "staff", "add", "lee@example.org", "--role", "manager")
    assert done.returncode == 0, done.stderr
    assert "lee@example.org (manager)" in done.stderr
    env["LP_NEW_PASSWORD"] = "short"
    assert run(env, "staff", "add", "kim@example.org").returncode == 2


def test_export_of_an_unknown_resident_exits_1(env: dict[str, str]) -> None:
    assert run(env, "migrate").returncode == 0
    assert run(env, "resident", "export", "--channel", "web", "--address", "x").returncode == 1


def test_train_names_missing_development_splits_before_any_work(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "splits"
    folder.mkdir()
    line = '{"id": "x1", "text": "ok", "themes": [], "signals": [], "safeguarding": null}\n'
    (folder / "eval.jsonl").write_text(line, encoding="utf8")
    (folder / "holdout_b.jsonl").write_text(line, encoding="utf8")  # one split of eight
    done = run(env, "themes", "train", "--eval", str(folder / "eval.jsonl"))
    assert done.returncode == 2
    said = " ".join(done.stderr.split())  # Rich wraps long lines
    assert "lacks the development splits" in said and "dev_cal_d.jsonl" in said
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cli.db").exists()  # stopped before the database was opened
