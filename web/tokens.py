"""Personal API tokens: shown once when made, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.dashboard import TokenRepository
from models.tables import ApiToken, StaffUser

PREFIX = "lp_"


def token_hash(token: str) -> str:
    """Tokens are long and random, so one fast hash is enough (unlike passwords)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(session: AsyncSession, user: StaffUser, name: str) -> str:
    """A new token for `user`; the caller shows it once and it is never readable again."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        staff_user_id=user.id,
        name=name.strip()[:100] or "token",
        token_hash=token_hash(token),
        prefix=token[:10],
    )
    session.add(row)
    await session.flush()
    return token


async def staff_for_token(session: AsyncSession, token: str) -> StaffUser | None:
    """The (enabled) staff user a token belongs to, noting when it was used."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = await TokenRepository(session).by_hash(token_hash(token))
    if row is None:
        return None
    user = await session.get(StaffUser, row.staff_user_id)
    if user is None or user.disabled_at is not None:
        return None
    row.last_used_at = utcnow()
    return user
