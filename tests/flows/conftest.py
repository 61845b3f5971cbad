"""Fixtures for the flow engine tests: the packaged flow definitions."""

from __future__ import annotations

import pytest

from flows import Flow, load_flows


@pytest.fixture(scope="session")
def flows() -> dict[str, Flow]:
    """The flows shipped in flows/definitions, loaded once."""
    return load_flows()
