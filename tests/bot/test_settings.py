"""Settings: every key documented, bad values stop start-up with one line naming the key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.app import create_app
from bot.settings import SECRETS, SettingsError, load_settings, settings_fields

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def test_every_setting_is_in_the_example_file() -> None:
    example = tomllib.loads(EXAMPLE.read_text())
    text = EXAMPLE.read_text()
    for section, keys in settings_fields().items():
        for key in keys:
            if (section, key) in SECRETS:
                assert f"LP_{section.upper()}__{key.upper()}" in text, (section, key)
            else:
                assert key in example.get(section, {}), f"{section}.{key} missing from example"


def test_the_example_file_loads_with_the_defaults() -> None:
    assert load_settings(EXAMPLE).model_dump() == load_settings(None).model_dump()


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[delivery]\nquiet_hours = "22:00-07:00"\n[server]\nport = 9000\n')
    monkeypatch.setenv("LP_SERVER__PORT", "9100")
    settings = load_settings(config)
    assert settings.server.port == 9100
    assert settings.delivery.quiet_hours == "22:00-07:00"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[nonsense]\nx = 1\n", "nonsense"),
        ("[server]\nport = 'eighty'\n", "server.port"),
        ("[server]\nprot = 80\n", "server.prot"),
        ('[delivery]\nquiet_hours = "9pm-8am"\n', "delivery.quiet_hours"),
        ('[delivery]\nquiet_hours = "25:00-08:00"\n', "delivery.quiet_hours"),
        ('[delivery]\ntimezone = "Mars/Olympus"\n', "delivery.timezone"),
        ('[telegram]\nmode = "carrier-pigeon"\n', "telegram.mode"),
        ('[database]\nurl = "sqlite:///x.db"\n', "database.url"),
        ('[telegram]\ntoken = "123:abc"\n', "telegram.token"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert key in message
    assert "\n" not in message


def test_the_cli_stops_with_one_line_on_a_bad_value(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[delivery]\nquiet_hours = "21:00-8"\n')
    env = dict(os.environ)  # the autouse fixture has removed every LP_ variable
    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "delivery.quiet_hours" in lines[0]


def test_serve_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(SettingsError, match="LP_SERVER__SECRET_KEY"):
        create_app(load_settings(None))


def test_serve_starts_with_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_SERVER__SECRET_KEY", "x" * 40)
    assert create_app(load_settings(None)).title == "Listening Post"


def test_quiet_hours_parse_into_times() -> None:
    window = load_settings(None).delivery.quiet_window()
    assert window is not None
    assert (window[0].hour, window[1].hour) == (21, 8)


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({"telegram": {"enabled": True}}, "telegram.token"),
        ({"whatsapp": {"enabled": True}}, "whatsapp.access_token"),
    ],
)
def test_an_enabled_channel_without_its_secret_stops_start_up(
    sections: dict[str, dict[str, object]], key: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(key)):
        load_settings(None, **sections)


def test_webhook_mode_needs_an_https_public_url_and_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LP_TELEGRAM__TOKEN", "123:abc")
    webhook = {"telegram": {"enabled": True, "mode": "webhook"}}
    with pytest.raises(SettingsError, match=r"server\.public_url"):
        load_settings(None, **webhook)
    with pytest.raises(SettingsError, match=r"telegram\.webhook_secret"):
        load_settings(None, server={"public_url": "https://lp.example.org"}, **webhook)
