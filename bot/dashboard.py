"""Wiring the staff dashboard to the runtime: plain values for `web` (web never imports bot)."""

from __future__ import annotations

from typing import Any

from bot.runtime import Runtime
from bot.settings import SECRETS, Settings
from web.context import WebContext

HIDDEN_SECTIONS = {"safeguarding"}  # long texts; shown in config.example.toml instead


def dashboard_context(settings: Settings, runtime: Runtime) -> WebContext:
    """The WebContext for this runtime's database and settings."""
    return WebContext(
        runtime.sessions,
        redact_pii=settings.privacy.redact_pii_in_dashboard,
        transaction=runtime.db.transaction,
        populations=dict(settings.areas.populations),
        reveal_role=settings.dashboard.reveal_role,
        page_size=settings.dashboard.page_size,
        refresh_seconds=settings.dashboard.refresh_seconds,
        settings_view=settings_view(settings),
    )


def settings_view(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every setting for the read-only admin page; secrets only say whether they are set."""
    view: dict[str, dict[str, Any]] = {}
    for name, section in settings.model_dump().items():
        shown: dict[str, Any] = {}
        for key, value in section.items():
            if (name, key) in SECRETS:
                shown[key] = "(set)" if value is not None else "(not set)"
            elif key == "url" and isinstance(value, str) and "@" in value:
                shown[key] = value.split("://", 1)[0] + "://…@" + value.rsplit("@", 1)[1]
            else:
                shown[key] = value
        view[name] = shown
    return view
