"""One behavioural suite, run against the library (a Sandbox) and against a live server through
restricted_exec.client, so the two cannot drift apart."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pytest

from integrations.programs import ARTICLE_CODE, cpython_prints
from integrations.service_process import server
from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.client import AsyncClient, Client, ServiceAuthError


class Backend(Protocol):
    """What both sides offer, in the library's shapes."""

    def run(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult: ...

    def compile_program(self, code: str) -> Any: ...

    def session(self) -> Any: ...

    def load_session(self, data: bytes) -> Any: ...

    def stream(self, code: str) -> list[str | ExecutionResult]: ...


class LibraryBackend:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def run(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult:
        return self.sandbox.run(code, inputs=inputs, policy=policy)

    def compile_program(self, code: str) -> Any:
        return self.sandbox.compile_program(code)

    def session(self) -> Any:
        return self.sandbox.session()

    def load_session(self, data: bytes) -> Any:
        return self.sandbox.load_session(data)

    def stream(self, code: str) -> list[str | ExecutionResult]:
        async def collect() -> list[str | ExecutionResult]:
            return [item async for item in self.sandbox.stream(code)]

        return asyncio.run(collect())


class ServiceBackend:
    def __init__(self, client: Client) -> None:
        self.client = client

    def run(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult:
        return self.client.run(code, inputs=inputs, policy=policy)

    def compile_program(self, code: str) -> Any:
        return self.client.compile_program(code)

    def session(self) -> Any:
        return self.client.session()

    def load_session(self, data: bytes) -> Any:
        return self.client.load_session(data)

    def stream(self, code: str) -> list[str | ExecutionResult]:
        return list(self.client.stream(code))


SERVER_POLICY = Policy(timeout_s=3)


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server(tmp_path_factory.mktemp("client")) as (url, _):
        yield url


@pytest.fixture(params=["library", "service"])
def backend(request: pytest.FixtureRequest, service_url: str) -> Iterator[Backend]:
    if request.param == "library":
        with Sandbox(SERVER_POLICY) as sandbox:
            yield LibraryBackend(sandbox)
    else:
        with Client(service_url, api_key="acme-key-1") as client:
            yield ServiceBackend(client)


def test_a_run_prints_what_cpython_prints(backend: Backend) -> None:
    result = backend.run(ARTICLE_CODE)
    assert result.ok and result.stdout == cpython_prints(ARTICLE_CODE)


def test_values_cross_with_their_types(backend: Backend) -> None:
    result = backend.run(
        "(price * 2, day + datetime.timedelta(days=1))",
        inputs={"price": Decimal("1.10"), "day": datetime.date(2026, 12, 31)},
    )
    assert result.value == [Decimal("2.20"), datetime.date(2027, 1, 1)]


def test_an_error_has_its_line_and_cpythons_last_traceback_line(backend: Backend) -> None:
    result = backend.run("print('before')\nimport decimal\ndecimal.Decimal('x')")
    assert result.status == "error" and result.stdout == "before\n"
    assert result.error is not None and result.error.line == 3
    assert result.error.traceback.endswith(
        "decimal.InvalidOperation: [<class 'decimal.ConversionSyntax'>]"
    )


def test_a_lower_timeout_ends_the_run_and_says_so(backend: Backend) -> None:
    result = backend.run("while True:\n    pass", policy=Policy(timeout_s=0.5))
    assert result.status == "timeout"
    assert result.error is not None and "0.5 s" in result.error.message


def test_narrower_modules_refuse_an_import_and_name_what_is_allowed(backend: Backend) -> None:
    result = backend.run(
        "import statistics",
        policy=SERVER_POLICY.model_copy(
            update={"modules": frozenset({"math", "datetime", "json"})}
        ),
    )
    assert result.status == "policy_violation"
    assert result.error is not None and "allowed: datetime, json, math" in result.error.message


def test_a_compiled_program_runs_with_new_inputs(backend: Backend) -> None:
    program = backend.compile_program("round(p * (1 + r) ** n, 2)")
    for p in (100, 250):
        assert program.run(inputs={"p": p, "r": 0.1, "n": 3}).value == round(p * 1.1**3, 2)


def test_a_session_keeps_state_and_goes_on_from_its_dump(backend: Backend) -> None:
    with backend.session() as session:
        session.run("import statistics\nxs = [3, 1, 4]")
        assert session.run("statistics.mean(xs)").value == (3 + 1 + 4) / 3
        dump = session.dump()
    with backend.load_session(dump) as again:
        assert again.run("xs.append(1)\nstatistics.median(xs)").value == 2.0


def test_a_stream_is_the_output_in_order_then_the_result(backend: Backend) -> None:
    items = backend.stream("for i in range(3):\n    print(i)\n'done'")
    result = items[-1]
    assert isinstance(result, ExecutionResult) and result.value == "done"
    assert all(isinstance(item, str) for item in items[:-1])
    assert "".join(str(item) for item in items[:-1]) == result.stdout == "0\n1\n2\n"


# ----- what only a remote caller meets ----------------------------------------------------------


def test_a_wrong_key_raises_service_auth_error(service_url: str) -> None:
    with Client(service_url, api_key="wrong") as client, pytest.raises(ServiceAuthError):
        client.run("1")


def test_a_full_server_gives_a_rejected_result_as_a_full_sandbox_does(tmp_path: Path) -> None:
    with server(tmp_path, max_concurrency=1, queue_limit=0) as (url, _):

        async def scenario() -> list[str]:
            async with AsyncClient(url, api_key="acme-key-1") as client:
                results = await asyncio.gather(
                    *(client.run("import time\ntime.sleep(0.5)") for _ in range(4))
                )
            return [result.status for result in results]

        statuses = asyncio.run(scenario())
    assert set(statuses) == {"ok", "rejected"}


def test_another_tenants_session_is_not_found(service_url: str) -> None:
    with Client(service_url, api_key="acme-key-1") as acme:
        session = acme.session()
        session.run("secret = 42")
    with Client(service_url, api_key="globex-key-1") as globex:
        from restricted_exec.client import RemoteSession

        stolen = RemoteSession(globex._http, session.id)
        with pytest.raises(LookupError):
            stolen.run("secret")
