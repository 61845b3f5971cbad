"""`serve` as a process: healthy, structured logs without message text, clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from tests.serving import serve

SECRET_TEXT = "my neighbour Brenda at number 12 keeps leaving bin bags out"


def test_serve_logs_events_not_text_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with serve(tmp_path) as served, httpx.Client(base_url=served.base) as client:
        client.get("/chat")
        for n, text in enumerate(["hello", SECRET_TEXT]):
            answer = client.post(
                "/chat/api/messages", json={"text": text, "client_id": f"serve-test-{n}"}
            )
            assert answer.status_code == 200
        served.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it captured
        assert served.process.wait(timeout=30) in (0, -signal.SIGTERM)
        output = served.log.read_text()
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    names = [event["event"] for event in events]
    assert "started" in names
    assert "stopped" in names
    assert names.index("stopped") > names.index("Shutting down")
    assert names.count("inbound") == 2
    assert "Brenda" not in output
    assert "bin bags" not in output
