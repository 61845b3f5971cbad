"""The web chat in a real browser against a real server: a whole listening conversation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

ANSWERS = [
    "Friendly neighbours and the market",
    "Damp in the flat and the buses are always late",
    "The food pantry volunteers are brilliant",
    "I'd join a walking group",
]


def last_bot_line(page: Page) -> str:
    return page.locator("#log li.out").last.inner_text()


def say(page: Page, text: str) -> None:
    before = page.locator("#log li").count()
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#log li")).not_to_have_count(before)
    page.wait_for_function("n => document.querySelectorAll('#log li').length > n + 1", arg=before)


def test_a_listening_conversation_in_the_browser(server: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone screen
    page = context.new_page()
    page.goto(f"{server}/chat")
    expect(page.locator("#log li.out").first).to_be_visible()
    expect(page.locator("#log")).to_contain_text(
        "What matters most to you about living round here?"
    )
    expect(page.get_by_role("button", name="Skip")).to_be_visible()
    for answer in ANSWERS:
        say(page, answer)
    say(page, "Us lot who live here")
    expect(page.locator("#log")).to_contain_text("Can we message you")
    yes = page.get_by_role("button", name="Yes please")
    expect(yes).to_be_visible()
    yes.click()
    expect(page.locator("#log")).to_contain_text("Which area do you live in?")
    say(page, "LS9")
    expect(page.locator("#log")).to_contain_text("that's everything")
    expect(page.get_by_label("Your message")).to_be_focused()

    page.reload()  # the conversation survives a reload (signed cookie + history)
    expect(page.locator("#log")).to_contain_text("Damp in the flat")
    context.close()


@pytest.mark.parametrize(
    "said",
    [
        "I can't go on, I want to end my life",
        # no risk phrase: only the risk encoder reads it (themes/encoder.py)
        "every night I stand on the balcony a bit longer than the night before",
    ],
)
def test_crisis_message_in_the_browser(server: str, browser: Browser, said: str) -> None:
    page = browser.new_page()
    page.goto(f"{server}/chat")
    expect(page.locator("#log")).to_contain_text("What matters most")
    say(page, said)
    expect(page.locator("#log li.out").last).to_contain_text("116 123")
    page.close()
