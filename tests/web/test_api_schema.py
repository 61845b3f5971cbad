"""Schemathesis against /openapi.json on a real `serve` process: no server errors in /api.

Generated requests carry a real personal token, so they reach the handlers rather than
stopping at 401; the database holds seeded conversations so ids and filters find rows.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.openapi import from_url

from bot.seed import seed
from tests.serving import serve
from tests.web.helpers import PASSWORD, csrf_of


@dataclass
class Api:
    base: str
    token: str


def _add_admin(url: str) -> None:
    env = dict(os.environ, LP_DATABASE__URL=url, LP_NEW_PASSWORD=PASSWORD)
    command = [sys.executable, "-m", "bot", "staff", "add", "api@example.org", "--role", "admin"]
    subprocess.run(command, env=env, check=True, timeout=120, capture_output=True)


def _token(base: str) -> str:
    with httpx.Client(base_url=base) as http:
        csrf = csrf_of(http.get("/staff/login").text)
        login = {"email": "api@example.org", "password": PASSWORD, "csrf": csrf}
        assert http.post("/staff/login", data=login).status_code == 303
        csrf = csrf_of(http.get("/staff/tokens").text)
        made = http.post("/staff/tokens", data={"csrf": csrf, "name": "schemathesis"})
    found = re.search(r'id="new-token">(lp_[^<]+)<', made.text)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("api")
    url = f"sqlite+aiosqlite:///{tmp / 'served.db'}"
    env = {k: v for k, v in os.environ.items() if k.startswith("LP_")}
    for key in env:
        os.environ.pop(key)  # the module fixture runs outside the per-test clean environment
    try:
        with serve(tmp) as served:
            asyncio.run(seed(url, residents=40, messages=600))
            _add_admin(url)
            yield Api(served.base, _token(served.base))
    finally:
        os.environ.update(env)


def test_the_api_never_fails_with_a_server_error(api: Api) -> None:
    schema = from_url(f"{api.base}/openapi.json").include(path_regex="^/api/")
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == 8
    auth = {"Authorization": f"Bearer {api.token}"}
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=api.base, headers=auth)
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        no_server_error()
    assert len(statuses) >= 8 * 10
    assert sum(200 <= status < 300 for status in statuses) >= 8  # reached the handlers
