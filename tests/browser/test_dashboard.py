"""The staff dashboard in Debian's Chromium against a real server with seeded conversations.

The review loop: sign in, filter the inbox, open a transcript, correct a tag, see the
overview chart change, export CSV; and axe-core (vendored in axe-playwright-python, never a
CDN) finds no serious or critical accessibility problem on any page.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.serving import serve

EMAIL = "reviewer@example.org"
PASSWORD = "a long enough passphrase"
AXE = Path(axe_playwright_python.__file__).parent / "axe.min.js"
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served database with 60 residents' conversations and an admin; yields the base URL."""
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite+aiosqlite:///{tmp / 'served.db'}"
    saved = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("LP_")]}
    try:
        env = dict(os.environ, LP_DATABASE__URL=url, LP_NEW_PASSWORD=PASSWORD)
        subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, check=True, timeout=120)
        fill = ["--messages", "1500", "--residents", "60", "--weeks", "12"]
        seeded = subprocess.run(
            [sys.executable, "-m", "bot", "dev", "seed", *fill],
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
            text=True,
        )
        assert "Added 60 residents" in seeded.stderr
        add = [sys.executable, "-m", "bot", "staff", "add", EMAIL, "--role", "admin"]
        subprocess.run(add, env=env, check=True, timeout=120, capture_output=True)
        with serve(tmp) as served:
            yield served.base
    finally:
        os.environ.update(saved)


@pytest.fixture(scope="module")
def page(browser: Browser, dashboard: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    signed_in = context.new_page()
    signed_in.goto(f"{dashboard}/staff")
    expect(signed_in.get_by_role("heading", name="Staff sign in")).to_be_visible()
    signed_in.get_by_label("Email").fill(EMAIL)
    signed_in.get_by_label("Password").fill(PASSWORD)
    signed_in.get_by_role("button", name="Sign in").click()
    expect(signed_in.get_by_role("heading", name=re.compile("Signed in as"))).to_be_visible()
    yield signed_in
    context.close()


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


def themes_bar(page: Page, base: str, name: str) -> int:
    page.goto(f"{base}/staff/overview")
    bar = page.locator(f'#chart-themes rect[data-label="{name}"]')
    expect(bar).to_have_count(1)
    return int(bar.get_attribute("data-value") or "0")


def test_the_review_loop(page: Page, dashboard: str) -> None:
    before = themes_bar(page, dashboard, "Transport")

    page.get_by_role("link", name="Inbox").click()
    page.get_by_label("Theme", exact=True).select_option(label="Housing")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"theme=housing"))
    items = page.locator("ol.inbox > li")
    expect(items.first).to_be_visible()
    for i in range(min(items.count(), 5)):
        expect(items.nth(i).locator(".chip", has_text="Housing")).to_have_count(1)

    page.locator("li.thread").first.get_by_role(
        "link", name=re.compile("Open conversation")
    ).click()
    heading = page.get_by_role("heading", name=re.compile("Conversation with resident"))
    expect(heading).to_be_visible()
    add = page.locator('button[aria-label^="Add theme Transport to message"]').first  # folded
    label = add.get_attribute("aria-label") or ""
    message_id = label.rsplit(" ", 1)[-1]
    page.locator(f"#m{message_id} details.add summary").click()
    add.click()
    chip = page.locator(f"#m{message_id} .chip.staff", has_text="Transport")
    expect(chip).to_be_visible()

    assert themes_bar(page, dashboard, "Transport") == before + 1

    page.goto(f"{dashboard}/staff/export?theme=transport")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV", exact=True).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all("transport" in row["themes"].split(";") for row in rows)
    assert any(row["message_id"] == message_id and row["staff_corrected"] == "True" for row in rows)


PAGES = [
    "/staff/login",
    "/staff",
    "/staff/inbox",
    "/staff/inbox?theme=housing&signal=barrier",
    "/staff/alerts?status=all",
    "/staff/overview",
    "/staff/themes/money",
    "/staff/equity",
    "/staff/agreement",
    "/staff/export",
    "/staff/tokens",
    "/staff/admin/users",
    "/staff/admin/codebook",
    "/staff/admin/settings",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_problems(page: Page, dashboard: str, path: str) -> None:
    page.goto(f"{dashboard}{path}")
    expect(page.locator("h1")).to_have_count(1)
    assert serious_violations(page) == []


def test_a_transcript_is_accessible_on_a_tablet(page: Page, dashboard: str) -> None:
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{dashboard}/staff/inbox")
    page.locator("li.thread").first.get_by_role("link", name=re.compile("Open")).click()
    expect(page.locator(".transcript")).to_be_visible()
    page.locator("details.add summary").first.click()
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})


def test_axe_does_catch_problems(page: Page) -> None:
    """The checker itself works: a page with an unlabelled input and an image without text."""
    page.set_content('<html lang="en"><body><main><img src="x.png"><input></main></body></html>')
    found = serious_violations(page)
    assert any(v.startswith("image-alt") for v in found)
    assert any(v.startswith("label") for v in found)
