"""dashboard (issue 7): API tokens, the reveal audit, pre-aggregated counts, inbox indexes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _dimensions() -> list[sa.Column[object]]:
    """The columns the two count tables share (fresh objects: a Column has one table)."""
    return [
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    _tokens_and_reveals()
    _count_tables()
    _phrases_and_refresh()
    _inbox_indexes()


def _tokens_and_reveals() -> None:
    _api_tokens()
    _pii_reveals()


def _api_tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_api_tokens_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_staff_user_id"), ["staff_user_id"], unique=False
        )


def _pii_reveals() -> None:
    op.create_table(
        "pii_reveals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_pii_reveals_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_pii_reveals_staff_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pii_reveals")),
    )
    with op.batch_alter_table("pii_reveals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pii_reveals_resident_id"), ["resident_id"])
        batch_op.create_index(batch_op.f("ix_pii_reveals_staff_user_id"), ["staff_user_id"])


def _count_tables() -> None:
    op.create_table(
        "dashboard_week_counts",
        sa.Column("week", sa.Date(), nullable=False),
        *_dimensions(),
        sa.PrimaryKeyConstraint(
            "week", "kind", "label", "area", "channel", name=op.f("pk_dashboard_week_counts")
        ),
    )
    op.create_table(
        "dashboard_label_totals",
        *_dimensions(),
        sa.PrimaryKeyConstraint(
            "kind", "label", "area", "channel", name=op.f("pk_dashboard_label_totals")
        ),
    )


def _phrases_and_refresh() -> None:
    op.create_table(
        "dashboard_phrases",
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("label", "phrase", name=op.f("pk_dashboard_phrases")),
    )
    op.create_table(
        "dashboard_refresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_refresh")),
    )


def _inbox_indexes() -> None:
    with op.batch_alter_table("message_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_tags_label_message", ["kind", "label", "message_id"], unique=False
        )
        batch_op.create_index("ix_message_tags_source", ["source"], unique=False)
        batch_op.create_index("ix_message_tags_removed_at", ["removed_at"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_direction_id", ["direction", "id"], unique=False)
        batch_op.create_index("ix_messages_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_created_at")
        batch_op.drop_index("ix_messages_direction_id")
    with op.batch_alter_table("message_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_message_tags_removed_at")
        batch_op.drop_index("ix_message_tags_source")
        batch_op.drop_index("ix_message_tags_label_message")
    for table in (
        "dashboard_refresh",
        "dashboard_phrases",
        "dashboard_label_totals",
        "dashboard_week_counts",
        "pii_reveals",
        "api_tokens",
    ):
        op.drop_table(table)
