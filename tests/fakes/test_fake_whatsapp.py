"""The fake Graph API answers as Meta documents, over real HTTP; the webhook builders match Meta."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes.whatsapp import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    FakeGraph,
    RateViolation,
    Rejection,
    button_reply,
    list_reply,
    media_message,
    rate_violations_in,
    sign,
    signed_post,
    status_update,
    text_message,
    validate_message,
    verification_params,
)

RESIDENT = "447700900123"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def message(kind: str, content: dict[str, Any], to: str = RESIDENT) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


def text(body: str = "Thanks for telling us.", to: str = RESIDENT) -> dict[str, Any]:
    return message("text", {"body": body, "preview_url": False}, to)


def buttons(*titles: str, body: str = "How was your visit?") -> dict[str, Any]:
    replies = [
        {"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)
    ]
    action = {"buttons": replies}
    return message("interactive", {"type": "button", "body": {"text": body}, "action": action})


def listing(*section_sizes: int, row_title: str = "Getting a GP appointment") -> dict[str, Any]:
    sections = [
        {"title": f"Topic {s}", "rows": [{"id": f"r{s}.{r}", "title": row_title} for r in range(n)]}
        for s, n in enumerate(section_sizes)
    ]
    action = {"button": "Choose a topic", "sections": sections}
    body = {"text": "What matters most?"}
    return message("interactive", {"type": "list", "body": body, "action": action})


def with_action(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["interactive"]["action"].update(changes)
    return body


def with_row(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["interactive"]["action"]["sections"][-1]["rows"][-1].update(changes)
    return body


def with_reply(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["interactive"]["action"]["buttons"][-1]["reply"].update(changes)
    return body


def template(name: str = "checkin_reminder") -> dict[str, Any]:
    body = [{"type": "body", "parameters": [{"type": "text", "text": "Sam"}]}]
    content = {"name": name, "language": {"code": "en_GB"}, "components": body}
    return message("template", content)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(approved_templates={"checkin_reminder"}, clock=lambda: NOW) as fake:
        yield fake


@pytest.fixture
async def http(graph: FakeGraph) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    async with httpx.AsyncClient(base_url=graph.base_url, headers=headers) as client:
        yield client


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await http.post(f"/{PHONE_NUMBER_ID}/messages", json=body, headers=headers)


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["fbtrace_id"], str)
    return error


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


@pytest.mark.parametrize(
    ("body", "code", "mentions"),
    [
        (buttons("Good", "Fine", "Poor", "Awful"), 131009, "between 1 and 3"),
        (buttons("Good", "A title of twenty-one"), 131009, "at most 20"),
        (buttons("Good", "Good"), 131009, "unique"),
        (buttons("Good", body=""), 131009, "must not be empty"),
        (buttons("Good", body="x" * 1025), 131009, "at most 1024"),
        (listing(6, 5), 131009, "between 1 and 10"),
        (listing(2, row_title="A row title of 25 letters"), 131009, "at most 24"),
        (listing(0), 131009, "between 1 and 10"),
        (listing(*[1] * 11), 131009, "sections has 11 entries"),
        (with_row(listing(1), description="d" * 73), 131009, "at most 72"),
        (with_row(listing(1), id="i" * 201), 131009, "at most 200"),
        (with_row(listing(2), id="r0.0"), 131009, "unique"),
        (with_action(listing(1), button="Choose one of these topics"), 131009, "at most 20"),
        (with_action(buttons("Good"), buttons=[{"type": "url"}]), 100, "must be 'reply'"),
        (with_reply(buttons("Good"), id="i" * 257), 131009, "at most 256"),
        (text(""), 131009, "must not be empty"),
        (text("x" * 4097), 131009, "at most 4096"),
        ({**text(), "type": "carrier_pigeon"}, 100, "Param type must be one of"),
        ({**text(), "messaging_product": "sms"}, 100, "messaging_product"),
        (message("text", {}) | {"text": None}, 100, "text is required"),
        (message("template", {"name": "checkin_reminder"}), 100, "template.language is required"),
    ],
)
def test_bodies_outside_the_documented_limits_are_rejected(
    body: dict[str, Any], code: int, mentions: str
) -> None:
    with pytest.raises(Rejection) as rejected:
        validate_message(body)

    assert (rejected.value.code, rejected.value.http_status) == (code, 400)
    assert mentions in rejected.value.details


@pytest.mark.parametrize(
    "body", [buttons("Good", "Fine", "Poor"), listing(4, 6), template(), text("x" * 4096)]
)
def test_bodies_at_the_documented_limits_pass(body: dict[str, Any]) -> None:
    assert validate_message(body) == RESIDENT


async def test_limit_errors_come_back_as_graph_errors(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    graph.customer_wrote(RESIDENT)

    too_many_buttons = await post(http, buttons("Good", "Fine", "Poor", "Awful"))
    too_many_rows = await post(http, listing(6, 5))
    fine = [await post(http, buttons("Good", "Poor")), await post(http, listing(3))]

    for response in (too_many_buttons, too_many_rows):
        assert response.status_code == 400
        error = error_of(response)
        assert (error["code"], error["type"]) == (131009, "OAuthException")
        assert error["message"] == "(#131009) Parameter value is not valid"
    assert error_of(too_many_buttons)["error_data"]["details"] == (
        "interactive.action.buttons has 4 entries; between 1 and 3."
    )
    assert (
        "rows (all sections together) has 11 entries; between 1 and 10."
        in (error_of(too_many_rows)["error_data"]["details"])
    )
    assert [response.status_code for response in fine] == [200, 200]
    assert len(graph.sent) == 2


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


def message_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"]["phone_number_id"] == PHONE_NUMBER_ID
    assert isinstance(value["metadata"]["display_phone_number"], str)
    [contact] = value["contacts"]
    assert (contact["wa_id"], contact["profile"]["name"]) == (RESIDENT, "Resident")
    [message] = value["messages"]
    assert message["from"] == RESIDENT
    assert message["id"].startswith("wamid.")
    assert message["timestamp"].isdigit()
    message_: dict[str, Any] = message
    return message_


def test_text_message_has_meta_shape() -> None:
    message = message_of(text_message("+" + RESIDENT, "The bus stop", timestamp=NOW))

    assert (message["type"], message["text"]) == ("text", {"body": "The bus stop"})
    assert message["timestamp"] == str(int(NOW.timestamp()))


def test_button_and_list_replies_have_meta_shape() -> None:
    tapped = message_of(button_reply(RESIDENT, "b0", "Good", context="wamid.FAKE7"))
    chosen = message_of(list_reply(RESIDENT, "r1", "Housing", "Repairs and damp"))

    assert tapped["type"] == "interactive"
    assert tapped["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "b0", "title": "Good"},
    }
    assert tapped["context"]["id"] == "wamid.FAKE7"
    assert chosen["interactive"] == {
        "type": "list_reply",
        "list_reply": {"id": "r1", "title": "Housing", "description": "Repairs and damp"},
    }


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("image", {"id", "mime_type", "sha256", "caption"}),
        ("audio", {"id", "mime_type", "sha256", "voice"}),
        ("sticker", {"id", "mime_type", "sha256", "animated"}),
        ("location", {"latitude", "longitude", "name", "address"}),
        ("reaction", {"message_id", "emoji"}),
        ("unsupported", {"type"}),
    ],
)
def test_media_messages_have_meta_shape(kind: str, keys: set[str]) -> None:
    message = message_of(media_message(RESIDENT, kind))

    assert message["type"] == kind
    assert set(message[kind]) == keys


def test_an_unsupported_message_carries_error_131051() -> None:
    [error] = message_of(media_message(RESIDENT, "unsupported"))["errors"]

    assert (error["code"], error["title"]) == (131051, "Message type unknown")
    assert error["error_data"]["details"] == "Message type is currently not supported."


def test_status_update_has_meta_shape() -> None:
    read = status_update("wamid.FAKE1", "read", RESIDENT, timestamp=NOW)
    failed = status_update("wamid.FAKE2", "failed", RESIDENT, errors=[131026])

    value = read["entry"][0]["changes"][0]["value"]
    assert value["metadata"]["phone_number_id"] == PHONE_NUMBER_ID
    assert value["statuses"] == [
        {
            "id": "wamid.FAKE1",
            "status": "read",
            "timestamp": str(int(NOW.timestamp())),
            "recipient_id": RESIDENT,
        }
    ]
    [error] = failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"]
    assert set(error) == {"code", "title", "message", "error_data", "href"}
    assert error["code"] == 131026
    with pytest.raises(ValueError, match="carries errors"):
        status_update("wamid.FAKE3", "failed", RESIDENT)


async def test_builders_given_the_graph_open_the_window_and_point_at_its_sends(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    text_message(RESIDENT, "hello", graph=graph)
    sent = await post(http, buttons("Good", "Poor"))

    tapped = message_of(button_reply(RESIDENT, "b0", "Good", graph=graph))

    assert sent.status_code == 200
    assert tapped["context"]["id"] == sent.json()["messages"][0]["id"]
    assert tapped["timestamp"] == str(int(NOW.timestamp()))


def test_sign_is_hmac_sha256_of_the_raw_body() -> None:
    body, headers = signed_post(text_message(RESIDENT, "Café on the corner"), "app-secret")

    digest = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert sign(body, "app-secret") == f"sha256={digest}"
    assert headers["X-Hub-Signature-256"] == f"sha256={digest}"
    assert b"\\u00e9" in body
    assert json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] == (
        "Café on the corner"
    )


def test_verification_params_are_metas_subscribe_handshake() -> None:
    assert verification_params("verify-me", "42") == {
        "hub.mode": "subscribe",
        "hub.verify_token": "verify-me",
        "hub.challenge": "42",
    }
