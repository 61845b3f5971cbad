"""Refused and undelivered sends: the 24-hour window, templates, injected errors, webhooks."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.fakes.helpers import NOW, RESIDENT, error_of, post, template, text
from tests.fakes.whatsapp import (
    ACCESS_TOKEN,
    FakeGraph,
)


async def test_a_closed_window_is_131047_and_an_approved_template_still_goes(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    never_wrote = await post(http, text())
    graph.customer_wrote(RESIDENT, at=NOW - timedelta(hours=24, seconds=1))
    went_quiet = await post(http, text())
    reminder = await post(http, template())
    unapproved = await post(http, template("never_approved"))

    assert unapproved.status_code == 404
    assert error_of(unapproved)["code"] == 132001
    assert "never_approved" in error_of(unapproved)["error_data"]["details"]
    for closed in (never_wrote, went_quiet):
        assert closed.status_code == 400
        assert error_of(closed)["code"] == 131047
        assert error_of(closed)["message"] == "(#131047) Re-engagement message"
    assert reminder.status_code == 200
    assert [body["type"] for body in graph.messages_to(RESIDENT)] == ["template"]


async def test_fail_next_answers_as_meta_then_lets_sends_through(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    graph.customer_wrote(RESIDENT)
    graph.fail_next(130429)
    graph.fail_next(131056, http_status=429, count=2)
    graph.fail_next(190)

    answers = [await post(http, text()) for _ in range(5)]

    assert [a.status_code for a in answers] == [400, 429, 429, 401, 200]
    throttled = error_of(answers[0])
    assert throttled["message"] == "(#130429) Rate limit hit"
    assert throttled["error_data"] == {
        "messaging_product": "whatsapp",
        "details": "Cloud API message throughput has been reached.",
    }
    assert error_of(answers[1])["code"] == 131056
    assert error_of(answers[3])["code"] == 190
    assert [a.error_code for a in graph.attempts] == [130429, 131056, 131056, 190, None]
    assert len(graph.sent) == 1


def test_fail_next_needs_a_status_for_a_code_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="pass http_status"):
        FakeGraph().fail_next(999999)


async def test_an_unreachable_number_always_fails_with_131026(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    graph.customer_wrote(RESIDENT)
    graph.unreachable(RESIDENT)

    answers = [await post(http, text()), await post(http, template())]

    assert [(a.status_code, error_of(a)["code"]) for a in answers] == [(400, 131026)] * 2


async def test_delivery_errors_can_arrive_as_failed_status_webhooks() -> None:
    async with (
        FakeGraph(delivery_errors="webhook") as graph,
        httpx.AsyncClient(
            base_url=graph.base_url, headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
        ) as http,
    ):
        response = await post(http, text())

    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    [webhook] = graph.status_webhooks
    [status] = webhook["entry"][0]["changes"][0]["value"]["statuses"]
    assert (status["id"], status["status"], status["recipient_id"]) == (wamid, "failed", RESIDENT)
    assert status["errors"][0]["code"] == 131047
    assert graph.sent == []
