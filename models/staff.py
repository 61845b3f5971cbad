"""Staff accounts: argon2 password hashes, roles, and adding users."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from models.repositories import StaffRepository
from models.tables import StaffUser

ROLES = ("staff", "manager", "admin")
MIN_PASSWORD = 12
HASHER = PasswordHasher()


class StaffError(ValueError):
    """A staff account request that cannot be carried out, in words for the person asking."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises on a wrong or malformed hash."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def add_staff(session: AsyncSession, email: str, password: str, role: str) -> StaffUser:
    """Create a staff user, or reset the password and role of an existing one."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must be at least {MIN_PASSWORD} characters")
    user = await StaffRepository(session).by_email(email)
    if user is None:
        user = StaffUser(email=email, password_hash=hash_password(password), role=role)
        session.add(user)
    else:
        user.password_hash, user.role, user.disabled_at = hash_password(password), role, None
    await session.flush()
    return user
