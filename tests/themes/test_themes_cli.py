"""The command line: `themes tag` as a subprocess, `themes eval --json`, `themes build`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from themes.cli import app

RunTag = Callable[..., subprocess.CompletedProcess[str]]  # the run_tag fixture

LABELLED = [
    {
        "id": "t1",
        "text": "the bus never comes",
        "themes": ["transport"],
        "signals": ["barrier"],
        "safeguarding": None,
    },
    {
        "id": "t2",
        "text": "I want to end my life",
        "themes": ["mental_wellbeing"],
        "signals": [],
        "safeguarding": "suicide_self_harm",
    },
    {
        "id": "t3",
        "text": "the park is lovely",
        "themes": ["green_spaces"],
        "signals": ["strength"],
        "safeguarding": None,
    },
    {"id": "t4", "text": "ok", "themes": [], "signals": [], "safeguarding": None},
]


def test_tag_skips_a_malformed_line_and_tags_the_rest(run_tag: RunTag) -> None:
    lines = [
        json.dumps({"id": "a", "text": "the bins are overflowing"}),
        '{"id": "b", "text": broken',
        json.dumps({"id": "c", "text": "my partner hits me"}),
        json.dumps({"id": "d"}),
        json.dumps({"id": 5, "text": "ok"}),
    ]
    done = run_tag("\n".join(lines) + "\n", "--workers", "1")
    assert done.returncode == 1
    assert "line 2" in done.stderr
    assert "line 4" in done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["id"] for row in out] == ["a", "c", 5]
    assert set(out[0]) == {"id", "themes", "signals", "safeguarding", "evidence"}
    assert out[1]["safeguarding"] == "abuse"


def test_tag_reads_a_file_with_workers(run_tag: RunTag, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"id": i, "text": f"message {i} about the buses"} for i in range(600)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf8")
    done = run_tag("", str(source), "--workers", "2", "--batch-size", "50")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["id"] for row in out] == list(range(600))
    assert all("transport" in row["themes"] for row in out)


def test_eval_json_reports_both_taggers(tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in LABELLED), encoding="utf8")
    result = CliRunner().invoke(app, ["eval", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for name in ("tagger", "baseline"):
        summary = report[name]["summary"]
        assert set(summary) >= {
            "theme_macro_f1",
            "theme_micro_f1",
            "signal_macro_f1",
            "safeguarding_recall",
            "safeguarding_false_alarm_rate",
        }
        assert "transport" in report[name]["themes"]["labels"]
        assert set(report[name]["themes"]["labels"]["transport"]) >= {
            "precision",
            "recall",
            "f1",
            "support",
        }
    assert report["tagger"]["safeguarding"]["recall"] == 1.0


def test_eval_tables_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in LABELLED), encoding="utf8")
    result = CliRunner().invoke(app, ["eval", str(path)])
    assert result.exit_code == 0, result.output
    assert "keyword baseline" in result.output
    assert "Safeguarding" in result.output


def test_eval_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(LABELLED[0]) + "\nnot json\n", encoding="utf8")
    result = CliRunner().invoke(app, ["eval", str(path)])
    assert result.exit_code == 2
    assert "line 2" in result.output
