"""The inbound path end to end on a real SQLite file and a real PostgreSQL: store, tag, flow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from bot.settings import load_settings
from flows.types import IncomingKind
from models.tables import (
    Consent,
    Conversation,
    Erasure,
    Message,
    MessageTag,
    Resident,
    SafeguardingAlert,
)
from tests.bot.helpers import Resident as Talker
from tests.bot.helpers import count, every_text_value, inbound_rows, texts

ANSWERS = [
    "the people, and the park by the canal",
    "the damp in our flat makes my little girls asthma worse and the council do nothing",
    "the food pantry volunteers are amazing",
    "I'd help run a coffee morning for older people",
    "people who live here should decide, not someone in an office in town",
]


async def walk_listening_flow(talker: Talker, consent: str = "yes") -> list[str]:
    """Hello, five answers, consent, area; returns every reply text in order."""
    said = texts(await talker.say("hello"))
    for answer in ANSWERS:
        said += texts(await talker.say(answer))
    said += texts(await talker.say("Yes please" if consent == "yes" else "no", choice=None))
    said += texts(await talker.say("LS9 7AB"))
    return said


async def test_a_whole_listening_conversation_is_stored_and_tagged(runtime: Runtime) -> None:
    talker = Talker(runtime)
    said = await walk_listening_flow(talker)
    assert "What matters most to you about living round here?" in said
    assert any("Can we message you" in text for text in said)
    async with runtime.sessions() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
        assert resident.area == "LS9"  # a full postcode is cut to its district
        consent = (await session.execute(select(Consent))).scalar_one()
        assert (consent.purpose, consent.granted, consent.wording_version) == (
            "hear_back",
            True,
            "hear_back-v1",
        )
        rows = await inbound_rows(session)
        steps = [row.step for row in rows]
        assert steps[1:6] == ["matters", "in_the_way", "strengths", "together", "decide"]
        damp = rows[2]
        tags = (
            (await session.execute(select(MessageTag).where(MessageTag.message_id == damp.id)))
            .scalars()
            .all()
        )
        assert "housing" in {t.label for t in tags if t.kind == "theme"}
        for tag in tags:
            assert tag.evidence_start is not None and tag.evidence_end is not None
            assert damp.text[tag.evidence_start : tag.evidence_end] == tag.evidence_text
        conversation = (await session.execute(select(Conversation))).scalar_one()
        assert conversation.end_reason == "completed"
        replies = await count(session, Message) - len(rows)
        assert replies >= len(rows)


async def test_refusing_consent_is_recorded_as_refused(runtime: Runtime) -> None:
    await walk_listening_flow(Talker(runtime), consent="no")
    async with runtime.sessions() as session:
        consent = (await session.execute(select(Consent))).scalar_one()
        assert consent.granted is False


async def test_a_redelivered_message_is_handled_once(runtime: Runtime) -> None:
    talker = Talker(runtime)
    await talker.say("hello")
    first = await talker.say("the buses never come", message_id="same")
    again = await talker.say("the buses never come", message_id="same")
    assert again.duplicate and not first.duplicate
    assert texts(again) == texts(first)
    async with runtime.sessions() as session:
        rows = await inbound_rows(session)
        assert [r.text for r in rows].count("the buses never come") == 1


async def test_a_crash_mid_message_stores_nothing_and_a_retry_works(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    talker = Talker(runtime)
    await talker.say("hello")

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("crash between storing and replying")

    monkeypatch.setattr("bot.inbound.advance", explode)
    with pytest.raises(RuntimeError):
        await talker.say("the park is lovely", message_id="m-crash")
    async with runtime.sessions() as session:
        before = await count(session, Message)
        assert "the park is lovely" not in [r.text for r in await inbound_rows(session)]
    monkeypatch.undo()
    result = await talker.say("the park is lovely", message_id="m-crash")
    assert not result.duplicate and result.replies
    async with runtime.sessions() as session:
        rows = await inbound_rows(session)
        assert [r.text for r in rows].count("the park is lovely") == 1
        assert await count(session, Message) == before + 1 + len(result.replies)


async def test_stop_is_acknowledged_once_then_silence(runtime: Runtime) -> None:
    talker = Talker(runtime)
    await walk_listening_flow(talker)
    stopped = await talker.say("STOP")
    assert len(stopped.replies) == 1
    assert (await talker.say("are you still there")).replies == ()
    assert (await talker.say("/stop")).replies == ()
    async with runtime.sessions() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
        assert resident.stopped_at is not None
        consent = (await session.execute(select(Consent))).scalar_one()
        assert consent.withdrawn_at is not None
    restarted = await talker.say("/start")
    assert any("What matters most" in text for text in texts(restarted))


async def test_forget_leaves_no_trace_of_what_was_said(runtime: Runtime) -> None:
    marker = "ZEBRA-CROSSING-7731"
    talker = Talker(runtime, address="forget-me")
    other = Talker(runtime, address="someone-else")
    await other.say("hello")
    await talker.say("hello")
    await talker.say(f"the {marker} near the school is dangerous")
    await talker.say("/mydata")
    asked = await talker.say("/forget")
    assert asked.replies and asked.replies[-1].reply.choices
    done = await talker.say("yes")
    assert done.erased and done.replies
    async with runtime.sessions() as session:
        assert not any(marker in str(value) for value in await every_text_value(session))
        addresses = (await session.execute(select(Resident.address))).scalars().all()
        assert addresses == ["someone-else"]
        assert await count(session, Erasure) == 1


async def test_mydata_summarises_what_is_held(runtime: Runtime) -> None:
    talker = Talker(runtime)
    await walk_listening_flow(talker)
    summary = "\n".join(texts(await talker.say("/mydata")))
    assert "LS9" in summary
    assert "said yes" in summary
    assert "housing" in summary


@pytest.mark.parametrize(
    "said",
    [
        "honestly I don't want to be here anymore, I want to end it all",
        # no risk phrase: only the risk encoder reads it (themes/encoder.py)
        "every night I stand on the balcony a bit longer than the night before",
    ],
)
async def test_a_crisis_message_gets_the_crisis_reply_an_alert_and_a_pause(
    runtime: Runtime, said: str
) -> None:
    talker = Talker(runtime)
    await talker.say("hello")
    result = await talker.say(said)
    assert result.safeguarding == "suicide_self_harm"
    first = result.replies[0].reply.text
    assert "116 123" in first and "999" in first and "111" in first
    assert len(result.replies) == 1  # the flow does not carry on as if nothing happened
    async with runtime.sessions() as session:
        alert = (await session.execute(select(SafeguardingAlert))).scalar_one()
        assert (alert.category, alert.status) == ("suicide_self_harm", "open")
        resident = (await session.execute(select(Resident))).scalar_one()
        assert resident.paused_at is not None


@pytest.mark.parametrize("encoder", [True, False])
async def test_the_risk_encoder_setting_decides_whether_it_is_asked(
    sqlite_url: str, encoder: bool
) -> None:
    settings = load_settings(
        None,
        database={"url": sqlite_url},
        server={"development": True},
        tagging={"risk_encoder": encoder},
    )
    runtime = await Runtime.start(settings)  # loads the shipped pipeline itself
    try:
        talker = Talker(runtime)
        await talker.say("hello")
        result = await talker.say(
            "every night I stand on the balcony a bit longer than the night before"
        )
        assert result.safeguarding == ("suicide_self_harm" if encoder else None)
    finally:
        await runtime.close()


@pytest.mark.parametrize("kind", [IncomingKind.STICKER, IncomingKind.MEDIA])
async def test_stickers_and_media_get_a_kind_reply_and_change_nothing(
    runtime: Runtime, kind: IncomingKind
) -> None:
    talker = Talker(runtime)
    await talker.say("hello")
    async with runtime.sessions() as session:
        before = (await session.execute(select(Conversation.state))).scalar_one()
    result = await talker.say("", kind=kind)
    assert len(result.replies) >= 1
    assert "text" in result.replies[0].reply.text.lower() or "type" in texts(result)[0].lower()
    async with runtime.sessions() as session:
        after = (await session.execute(select(Conversation.state))).scalar_one()
    assert after["step"] == before["step"]
    assert after["answered"] == before["answered"]


async def test_a_very_long_message_is_truncated_and_the_resident_told(runtime: Runtime) -> None:
    talker = Talker(runtime)
    await talker.say("hello")
    result = await talker.say("the buses " * 1000)
    assert any("2,000" in text for text in texts(result))
    async with runtime.sessions() as session:
        longest = max(len(r.text) for r in await inbound_rows(session))
    assert longest == 2000


async def test_retention_deletes_old_messages_only(runtime: Runtime) -> None:
    talker = Talker(runtime)
    await talker.say("hello")
    await talker.say("the bins are overflowing")
    async with runtime.sessions() as session:
        total = await count(session, Message)
    assert await runtime.purge_expired() == 0  # the helper clock is in 2026; nothing is old yet
    runtime.settings.privacy.retention_days = 1
    talker.clock = talker.clock.replace(year=2027)
    await talker.say("the park is lovely")
    purged = await runtime.purge_expired()
    assert purged == total
    async with runtime.sessions() as session:
        left = (await session.execute(select(Message.text))).scalars().all()
    assert "the bins are overflowing" not in left
    assert "the park is lovely" in left
