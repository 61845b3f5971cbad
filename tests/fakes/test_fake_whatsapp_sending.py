"""Accepted sends: the Graph API's answer, its checks of token and path, waiting, and rates."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from tests.fakes.helpers import NOW, RESIDENT, error_of, post, text
from tests.fakes.whatsapp import (
    ACCESS_TOKEN,
    FakeGraph,
    RateViolation,
    rate_violations_in,
)


async def test_a_text_inside_the_window_is_accepted_with_a_wamid(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    graph.customer_wrote(RESIDENT, at=NOW - timedelta(hours=23, minutes=59))

    response = await post(http, text(to="+" + RESIDENT))

    assert graph.base_url.startswith("http://127.0.0.1:") and graph.base_url.endswith("/v21.0")
    assert response.status_code == 200
    assert response.json() == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+" + RESIDENT, "wa_id": RESIDENT}],
        "messages": [{"id": "wamid.FAKE1"}],
    }
    [sent] = graph.sent
    assert (sent.wamid, sent.wa_id, sent.at) == ("wamid.FAKE1", RESIDENT, NOW)
    assert graph.messages_to(RESIDENT) == [text(to="+" + RESIDENT)]
    assert graph.messages_to("447700900999") == []


async def test_the_token_and_the_phone_number_id_are_checked(graph: FakeGraph) -> None:
    graph.customer_wrote(RESIDENT)
    wrong = {"Authorization": "Bearer EAAG-expired"}
    async with httpx.AsyncClient(base_url=graph.base_url) as client:
        bad_token = await post(client, text(), headers=wrong)
        bad_node = await client.post(
            "/999/messages", json=text(), headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
        )

    assert bad_token.status_code == 401
    error = error_of(bad_token)
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert "error_data" not in error
    assert bad_node.status_code == 400
    assert (error_of(bad_node)["code"], error_of(bad_node)["type"]) == (100, "GraphMethodException")
    assert [(a.status, a.error_code) for a in graph.attempts] == [(401, 190), (400, 100)]
    assert graph.sent == []


async def test_wait_for_sent_returns_once_enough_arrived(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    graph.customer_wrote(RESIDENT)

    async def later() -> None:
        await asyncio.sleep(0.05)
        await post(http, text())

    sending = asyncio.create_task(later())
    [sent] = await graph.wait_for_sent(1, timeout=2)
    await sending

    assert sent.body["text"]["body"] == "Thanks for telling us."
    with pytest.raises(AssertionError, match="1 of 2 sends accepted"):
        await graph.wait_for_sent(2, timeout=0.05)


async def test_a_burst_breaks_a_per_second_limit(graph: FakeGraph, http: httpx.AsyncClient) -> None:
    graph.customer_wrote(RESIDENT)

    await asyncio.gather(*(post(http, text(f"reply {n}")) for n in range(8)))

    assert len(graph.send_times) == 8
    assert graph.rate_violations(per_second=20) == []
    violations = graph.rate_violations(per_second=5)
    assert violations[0] == RateViolation(start=0.0, count=8)


def test_rate_windows_are_one_second_half_open_and_anchored_at_each_send() -> None:
    times = [10.0, 10.5, 10.99, 11.0, 12.5]

    assert rate_violations_in(times, per_second=2) == [
        RateViolation(start=0.0, count=3),
        RateViolation(start=0.5, count=3),
    ]
    assert rate_violations_in([0.0, 1.0, 2.0], per_second=1) == []
