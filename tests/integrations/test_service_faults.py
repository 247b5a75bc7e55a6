"""The service under stress, on real server processes: SIGTERM with runs in flight, and a fuzz
of the HTTP API for 5xx answers."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.service_process import server
from restricted_exec import ExecutionResult


def test_sigterm_under_load_gives_every_accepted_request_its_result(tmp_path: Path) -> None:
    with server(tmp_path, max_concurrency=2, queue_limit=8) as (url, process):
        code = "import time\ntime.sleep(0.5)\nprint('done')"

        def post(_: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=60) as http:
                return http.post(
                    "/v1/run", json={"code": code}, headers={"Authorization": "Bearer acme-key-1"}
                )

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            pending = [pool.submit(post, index) for index in range(8)]
            deadline = time.monotonic() + 30
            while httpx.get(f"{url}/readyz").json().get("in_flight", 0) < 8:
                assert time.monotonic() < deadline, "the requests never all arrived"
                time.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            responses = [future.result(timeout=60) for future in pending]
    assert [response.status_code for response in responses] == [200] * 8
    assert all(
        ExecutionResult.model_validate_json(response.content).stdout == "done\n"
        for response in responses
    )


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server(tmp_path_factory.mktemp("fuzz"), policy={"timeout_s": 1}) as (address, _):
        yield address


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"code": st.text(max_size=60)},
        optional={
            "inputs": st.dictionaries(st.text(max_size=8), JSON, max_size=3) | JSON,
            "policy": st.dictionaries(
                st.sampled_from(["timeout_s", "memory_mb", "output_bytes", "modules", "x"]),
                JSON,
                max_size=3,
            )
            | JSON,
            "extra": JSON,
        },
    ),
)
PATHS = st.sampled_from(
    [
        "/v1/run",
        "/v1/programs",
        "/v1/sessions",
        "/v1/sessions/x/run",
        "/v1/programs/x/run",
        "/v1/sessions/load",
        "/v1/jobs",
    ]
)


@settings(
    max_examples=int(os.environ.get("RESTRICTED_EXEC_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=PATHS, body=BODIES, raw=st.booleans())
def test_no_body_on_any_route_gets_a_5xx(url: str, path: str, body: Any, raw: bool) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        headers = {"Authorization": "Bearer acme-key-1", "content-type": "application/json"}
        content = json.dumps(body).encode() if not raw else json.dumps(body)[::-1].encode()
        response = http.post(path, content=content, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code == 200 and path.endswith("/run"):
        ExecutionResult.model_validate_json(response.content)
