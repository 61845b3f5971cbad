"""The tables. Field names follow the field's words: resident, consent, conversation, theme."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

ID = Integer  # SQLite only auto-increments INTEGER PRIMARY KEY; fine for PostgreSQL too


class Resident(Base):
    """Someone who talks to us on one channel; `address` is the channel's id for them."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    area: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(16), default="en")
    source: Mapped[str | None] = mapped_column(String(64))  # deep-link payload or campaign
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]  # safeguarding: no automated messages

    consents: Mapped[list[Consent]] = relationship(
        back_populates="resident", lazy="raise", cascade="all, delete-orphan"
    )


class Consent(Base):
    """One consent decision: granted or refused for a purpose, with the wording shown."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    wording_version: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="consents", lazy="raise")

    __table_args__ = (Index("ix_consents_resident_purpose", "resident_id", "purpose"),)


class Conversation(Base):
    """One run of a flow with a resident; `state` is the engine's JSON state."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    flow: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None]
    # A check-back conversation opened by a "you said, we did" update: replies link to it.
    update_id: Mapped[int | None] = mapped_column(
        ForeignKey("updates.id", ondelete="SET NULL"), index=True
    )


class Message(Base):
    """A message in or out. `channel_message_id` de-duplicates redelivered inbound messages."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id"),
        Index("ix_messages_resident_created", "resident_id", "created_at"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_direction_id", "direction", "id"),
        Index("ix_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(16), default="text")
    channel: Mapped[str] = mapped_column(String(16))
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    pipeline_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tags: Mapped[list[MessageTag]] = relationship(
        back_populates="message", lazy="raise", cascade="all, delete-orphan"
    )


class MessageTag(Base):
    """A theme, signal or safeguarding label on a message, with the evidence that led to it."""

    __tablename__ = "message_tags"
    __table_args__ = (
        Index("ix_message_tags_label", "kind", "label"),
        # inbox filters walk one label newest first (keyset on message_id)
        Index("ix_message_tags_label_message", "kind", "label", "message_id"),
        Index("ix_message_tags_source", "source"),
        Index("ix_message_tags_removed_at", "removed_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # theme | signal | safeguarding
    label: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8), default="model")  # model | staff
    evidence_start: Mapped[int | None]
    evidence_end: Mapped[int | None]
    evidence_text: Mapped[str | None] = mapped_column(Text)
    pipeline_version: Mapped[str | None] = mapped_column(String(64))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    removed_at: Mapped[datetime | None]  # a staff correction took this label away
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="tags", lazy="raise")


class SafeguardingAlert(Base):
    """A message that suggests someone may be at risk: a person must look today."""

    __tablename__ = "safeguarding_alerts"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class StaffUser(Base):
    """Someone who works with the data: staff review, managers also send, admins also manage."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class Action(Base):
    """Something that was done about what residents said."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    done_by: Mapped[str] = mapped_column(String(200), default="")
    done_on: Mapped[date | None] = mapped_column(Date)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # what prompted it
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Update(Base):
    """A "you said, we did" message about an action, sent to the residents who raised it."""

    __tablename__ = "updates"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    period_days: Mapped[int] = mapped_column(Integer, default=90)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    send_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """The outbox: one row per message to push to a resident; (update, resident) is unique."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("update_id", "resident_id"),
        Index("ix_deliveries_due", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    update_id: Mapped[int | None] = mapped_column(ForeignKey("updates.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class SchedulerLease(Base):
    """Who runs the scheduler: one row per lock name, held by one process until it expires."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class SchedulerJob(Base):
    """APScheduler's SQLAlchemy job store table, declared here so migrations create it."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class Erasure(Base):
    """A record that an erasure happened (when, which channel): no personal data."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    requested_via: Mapped[str] = mapped_column(String(16))  # resident | staff | cli
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A personal API token for /api; only its SHA-256 is kept, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists so people can tell them apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PiiReveal(Base):
    """The audit trail: who saw personal details unredacted, whose, when and how."""

    __tablename__ = "pii_reveals"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    what: Mapped[str] = mapped_column(String(16))  # transcript | export
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeekCount(Base):
    """Pre-aggregated inbound messages and residents per week, label, area and channel.

    kind "all" (label "") counts every inbound message; area "" is "not given".
    Refreshed from the messages in the background and adjusted in place by tag corrections.
    """

    __tablename__ = "dashboard_week_counts"

    week: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)


class LabelTotal(Base):
    """Like WeekCount over all time, so distinct residents stay exact."""

    __tablename__ = "dashboard_label_totals"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)


class EvidencePhrase(Base):
    """How often a piece of evidence (lower-cased) supported a theme, for "top phrases"."""

    __tablename__ = "dashboard_phrases"

    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    phrase: Mapped[str] = mapped_column(String(200), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)


class CountsRefresh(Base):
    """When the dashboard counts were last rebuilt, and from what state of the data."""

    __tablename__ = "dashboard_refresh"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
