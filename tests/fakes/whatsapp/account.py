"""The WhatsApp Business account the fake plays, and how it reads phone numbers."""

from __future__ import annotations

import re

GRAPH_VERSION = "v21.0"
ACCESS_TOKEN = "EAAG-test"
PHONE_NUMBER_ID = "1234567890"
DISPLAY_PHONE_NUMBER = "447700900000"  # Ofcom's drama range: never a real number
WABA_ID = "1098765432"


def digits(phone: str) -> str:
    """A phone number as a wa_id: its digits only (``+44 7700`` -> ``447700``)."""
    return re.sub(r"\D", "", phone)
