"""The webhook builders match Meta's payloads, signatures and verification handshake."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from tests.fakes.helpers import NOW, RESIDENT, buttons, post
from tests.fakes.whatsapp import (
    PHONE_NUMBER_ID,
    FakeGraph,
    button_reply,
    list_reply,
    media_message,
    sign,
    signed_post,
    status_update,
    text_message,
    verification_params,
)


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
