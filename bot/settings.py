"""The one settings object: TOML file, then `LP_<SECTION>__<KEY>` environment overrides."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

QUIET_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

DEFAULT_CRISIS_REPLY = (
    "Thank you for telling me. It sounds like things are really hard right now, and you "
    "deserve support from a person straight away.\n"
    "- If you are in danger now, or someone is hurt, call 999.\n"
    "- Samaritans are there day and night on 116 123 (free), or jo@samaritans.org.\n"
    "- For urgent health advice, call NHS 111 and choose the mental health option.\n"
    "- If someone at home is hurting you, the National Domestic Abuse Helpline is free "
    "on 0808 2000 247, day and night.\n"
    "I've also let a member of our team know, so a person can look at what you said today. "
    "I won't send you any automatic messages for now."
)


class Section(BaseModel):
    """A settings section: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    secret_key: SecretStr | None = None
    development: bool = False
    max_body_bytes: int = Field(default=65_536, ge=1024)


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///var/listening-post.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class TelegramSettings(Section):
    enabled: bool = False
    mode: Literal["polling", "webhook"] = "polling"
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    poll_timeout: int = Field(default=30, ge=1, le=50)
    poll_interval: float = Field(default=0.25, ge=0.0, le=5.0)
    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None


class WhatsAppSettings(Section):
    enabled: bool = False
    graph_url: str = "https://graph.facebook.com/v21.0"
    phone_number_id: str = ""
    update_template: str = "you_said_we_did"
    template_language: str = "en_GB"
    access_token: SecretStr | None = None
    app_secret: SecretStr | None = None
    verify_token: SecretStr | None = None


class DeliverySettings(Section):
    timezone: str = "Europe/London"
    quiet_hours: str = "21:00-08:00"
    telegram_per_second: float = Field(default=30.0, gt=0)
    telegram_per_chat_per_second: float = Field(default=1.0, gt=0)
    whatsapp_per_second: float = Field(default=20.0, gt=0)
    whatsapp_per_recipient_per_second: float = Field(default=1.0, gt=0)
    updates_per_resident: int = Field(default=1, ge=1)
    updates_period_days: int = Field(default=7, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _hh_mm_range(cls, value: str) -> str:
        if value and not QUIET_HOURS.match(value):
            raise ValueError(f"must be HH:MM-HH:MM (got {value!r})")
        return value

    def quiet_window(self) -> tuple[time, time] | None:
        """The quiet hours as (start, end) local times; None when there are none."""
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)


class SchedulerSettings(Section):
    enabled: bool = True
    lease_seconds: float = Field(default=30.0, ge=2)
    check_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _renews_in_time(self) -> SchedulerSettings:
        if self.check_seconds * 2 > self.lease_seconds:
            raise ValueError("scheduler.check_seconds: must be at most half of lease_seconds")
        return self


class SafeguardingSettings(Section):
    crisis_reply: str = Field(default=DEFAULT_CRISIS_REPLY, min_length=20)
    pause_automated_messages: bool = True
    alert_log_level: Literal["WARNING", "ERROR", "CRITICAL"] = "ERROR"


class PrivacySettings(Section):
    retention_days: int = Field(default=730, ge=1)
    redact_pii_in_dashboard: bool = True


class ConversationSettings(Section):
    default_flow: str = "listening"
    flows_dir: str = ""


class TaggingSettings(Section):
    pipelines_dir: str = "var/pipelines"
    risk_encoder: bool = True


class AreasSettings(Section):
    populations: dict[str, int] = Field(default_factory=dict)

    @field_validator("populations")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for area, population in value.items():
            if population <= 0:
                raise ValueError(f"population of {area!r} must be a positive number")
        return value


class DashboardSettings(Section):
    reveal_role: Literal["staff", "manager", "admin"] = "manager"
    page_size: int = Field(default=50, ge=10, le=500)
    refresh_seconds: int = Field(default=300, ge=10)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


SECRETS = {
    ("server", "secret_key"),
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("whatsapp", "access_token"),
    ("whatsapp", "app_secret"),
    ("whatsapp", "verify_token"),
}


class Settings(BaseSettings):
    """Everything configurable, in CONTRACT.md's sections."""

    model_config = SettingsConfigDict(
        env_prefix="LP_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    delivery: DeliverySettings = DeliverySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    safeguarding: SafeguardingSettings = SafeguardingSettings()
    privacy: PrivacySettings = PrivacySettings()
    conversation: ConversationSettings = ConversationSettings()
    tagging: TaggingSettings = TaggingSettings()
    areas: AreasSettings = AreasSettings()
    dashboard: DashboardSettings = DashboardSettings()
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="after")
    def _channels_complete(self) -> Settings:
        """An enabled channel must have what it needs, so nothing starts half-configured."""
        telegram, whatsapp = self.telegram, self.whatsapp
        if telegram.enabled and telegram.token is None:
            raise ValueError("telegram.token: telegram is enabled; set LP_TELEGRAM__TOKEN")
        if telegram.enabled and telegram.mode == "webhook":
            if not self.server.public_url.startswith("https://"):
                raise ValueError("server.public_url: webhook mode needs the public https URL")
            if telegram.webhook_secret is None:
                raise ValueError(
                    "telegram.webhook_secret: webhook mode needs LP_TELEGRAM__WEBHOOK_SECRET"
                )
        if whatsapp.enabled:
            for key in ("access_token", "app_secret", "verify_token"):
                if getattr(whatsapp, key) is None:
                    env = f"LP_WHATSAPP__{key.upper()}"
                    raise ValueError(f"whatsapp.{key}: whatsapp is enabled; set {env}")
            if not whatsapp.phone_number_id:
                raise ValueError("whatsapp.phone_number_id: whatsapp is enabled; set it")
        return self


class SettingsError(Exception):
    """A configuration problem, described in one line that names the key."""


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Read `path` (or `LP_CONFIG`), apply the environment, validate; raise SettingsError."""
    chosen = path or os.environ.get("LP_CONFIG") or None
    toml_path = Path(chosen) if chosen else None
    if toml_path is not None:
        _check_file(toml_path)

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
            return tuple(sources)

    try:
        return _Loaded(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from exc


def _check_file(path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc
    for section, key in sorted(SECRETS):
        table = data.get(section)
        if isinstance(table, Mapping) and key in table:
            env = f"LP_{section.upper()}__{key.upper()}"
            raise SettingsError(
                f"{section}.{key} is a secret: set it in the environment as {env}, "
                "not in the config file"
            )


def describe(exc: ValidationError) -> str:
    """One line naming the first bad key and what is wrong with it."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown setting"
    if not error["loc"] and ": " in message:  # a cross-field rule names its own key
        return f"config error: {message}"
    return f"config error: {key}: {message}"


def settings_fields() -> dict[str, list[str]]:
    """Every section and its keys, for documentation checks."""
    out: dict[str, list[str]] = {}
    for name, field in Settings.model_fields.items():
        section = field.annotation
        assert isinstance(section, type)
        assert issubclass(section, BaseModel)
        out[name] = list(section.model_fields)
    return out
