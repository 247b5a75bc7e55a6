"""A client of ``restricted-exec serve`` with the library's shapes (extra ``[client]``):

    from restricted_exec.client import Client

    with Client("http://127.0.0.1:8000", api_key="...") as sandbox:
        result = sandbox.run("print(2 ** 100)")            # an ExecutionResult
        program = sandbox.compile_program("round(p * 1.05, 2)")
        program.run(inputs={"p": 100})
        with sandbox.session() as session:
            session.run("xs = [3, 1, 4]")
            session.run("sorted(xs)").value                # [1, 3, 4]
        for item in sandbox.stream(code):                  # output chunks, then the result
            ...

``AsyncClient`` is the same with ``async``/``await``. Results are the server's
``ExecutionResult`` JSON read back into ``ExecutionResult``. A full server (429) gives a
``rejected`` result, as a full Sandbox does; a request the server refuses raises: 401 and 403
``ServiceAuthError``, 404 ``LookupError`` (a program or session that is not yours, or ended),
413 and 422 ``InputError``, anything else ``ServiceError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

import httpx

from restricted_exec.errors import InputError, RestrictedExecError
from restricted_exec.host.limits import policy_request
from restricted_exec.language.values import encode
from restricted_exec.policy import Policy
from restricted_exec.result import ErrorInfo, ExecutionResult

__all__ = [
    "AsyncClient",
    "AsyncRemoteProgram",
    "AsyncRemoteSession",
    "Client",
    "RemoteProgram",
    "RemoteSession",
    "ServiceAuthError",
    "ServiceError",
]


class ServiceError(RestrictedExecError):
    """The service answered with an error status (its detail is the message)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class ServiceAuthError(ServiceError):
    """No valid API key (401), or not allowed (403)."""


def _inputs(inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """Inputs as tagged JSON, so a Decimal or a date arrives as one."""
    if inputs is None:
        return None
    try:
        tagged = encode(inputs)
    except Exception as problem:  # UnsupportedValue, and what a value's encoding raised
        raise InputError(f"inputs: {problem}") from None
    assert isinstance(tagged, dict)
    return tagged


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _run_body(code: str, inputs: dict[str, Any] | None, policy: Policy | None) -> dict[str, Any]:
    return _body(code=code, inputs=_inputs(inputs), policy=policy_request(policy))


def _body(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _rejected(detail: str) -> ExecutionResult:
    return ExecutionResult(
        status="rejected",
        error=ErrorInfo(kind="rejected", type="RunRejected", message=detail),
    )


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        return response.text
    return detail if isinstance(detail, str) else json.dumps(detail)


def _raise_for(response: httpx.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    detail = _detail(response)
    if code in (401, 403):
        raise ServiceAuthError(code, detail)
    if code == 404:
        raise LookupError(detail)
    if code in (413, 422):
        raise InputError(detail)
    raise ServiceError(code, detail)


def _result(response: httpx.Response) -> ExecutionResult:
    if response.status_code == 429:
        return _rejected(_detail(response))
    _raise_for(response)
    return ExecutionResult.model_validate_json(response.content)


def _stream_item(line: str) -> str | ExecutionResult:
    item = json.loads(line)
    if "output" in item:
        return str(item["output"])
    return ExecutionResult.model_validate_json(json.dumps(item["result"]))


class Client:
    """A service's sandbox, as a ``Sandbox`` is used. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = _auth(api_key)
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def run(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult:
        body = _run_body(code, inputs, policy)
        return _result(self._http.post("/v1/run", json=body))

    def stream(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> Iterator[str | ExecutionResult]:
        """The output as the program prints it, then its ExecutionResult, last."""
        body = _run_body(code, inputs, policy)
        with self._http.stream("POST", "/v1/run/stream", json=body) as response:
            if response.status_code >= 400:
                response.read()
                yield _result(response)  # rejected (429), or it raises
                return
            for line in response.iter_lines():
                if line:
                    yield _stream_item(line)

    def compile_program(self, code: str, *, policy: Policy | None = None) -> RemoteProgram:
        response = self._http.post(
            "/v1/programs", json=_body(code=code, policy=policy_request(policy))
        )
        _raise_for(response)
        return RemoteProgram(self._http, response.json()["id"])

    def session(self, *, policy: Policy | None = None) -> RemoteSession:
        response = self._http.post("/v1/sessions", json=_body(policy=policy_request(policy)))
        _raise_for(response)
        return RemoteSession(self._http, response.json()["id"])

    def load_session(self, data: bytes) -> RemoteSession:
        response = self._http.post("/v1/sessions/load", content=data)
        _raise_for(response)
        return RemoteSession(self._http, response.json()["id"])

    def modules(self) -> dict[str, Any]:
        response = self._http.get("/v1/modules")
        _raise_for(response)
        result: dict[str, Any] = response.json()
        return result

    def functions(self) -> dict[str, str]:
        """The host functions the server offers this key's runs (configured on the server:
        a client cannot add any), each with the first line of its docstring."""
        response = self._http.get("/v1/functions")
        _raise_for(response)
        described: dict[str, str] = response.json()
        return described

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class RemoteProgram:
    """A program compiled by the service, run with new inputs each time."""

    def __init__(self, http: httpx.Client, program_id: str) -> None:
        self._http = http
        self.id = program_id

    def run(self, *, inputs: dict[str, Any] | None = None) -> ExecutionResult:
        body = _body(inputs=_inputs(inputs))
        return _result(self._http.post(f"/v1/programs/{self.id}/run", json=body))


class RemoteSession:
    """A session on the service: runs that share one namespace."""

    def __init__(self, http: httpx.Client, session_id: str) -> None:
        self._http = http
        self.id = session_id

    def run(self, code: str, *, inputs: dict[str, Any] | None = None) -> ExecutionResult:
        body = _body(code=code, inputs=_inputs(inputs))
        return _result(self._http.post(f"/v1/sessions/{self.id}/run", json=body))

    def dump(self) -> bytes:
        response = self._http.get(f"/v1/sessions/{self.id}/dump")
        _raise_for(response)
        return response.content

    def close(self) -> None:
        response = self._http.delete(f"/v1/sessions/{self.id}")
        if response.status_code != 404:  # closed already: as Session.close, idempotent
            _raise_for(response)

    def __enter__(self) -> RemoteSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """``Client`` for asyncio."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = _auth(api_key)
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    async def run(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult:
        body = _run_body(code, inputs, policy)
        return _result(await self._http.post("/v1/run", json=body))

    async def stream(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> AsyncIterator[str | ExecutionResult]:
        body = _run_body(code, inputs, policy)
        async with self._http.stream("POST", "/v1/run/stream", json=body) as response:
            if response.status_code >= 400:
                await response.aread()
                yield _result(response)  # rejected (429), or it raises
                return
            async for line in response.aiter_lines():
                if line:
                    yield _stream_item(line)

    async def compile_program(
        self, code: str, *, policy: Policy | None = None
    ) -> AsyncRemoteProgram:
        response = await self._http.post(
            "/v1/programs", json=_body(code=code, policy=policy_request(policy))
        )
        _raise_for(response)
        return AsyncRemoteProgram(self._http, response.json()["id"])

    async def session(self, *, policy: Policy | None = None) -> AsyncRemoteSession:
        response = await self._http.post("/v1/sessions", json=_body(policy=policy_request(policy)))
        _raise_for(response)
        return AsyncRemoteSession(self._http, response.json()["id"])

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncRemoteProgram:
    def __init__(self, http: httpx.AsyncClient, program_id: str) -> None:
        self._http = http
        self.id = program_id

    async def run(self, *, inputs: dict[str, Any] | None = None) -> ExecutionResult:
        body = _body(inputs=_inputs(inputs))
        return _result(await self._http.post(f"/v1/programs/{self.id}/run", json=body))


class AsyncRemoteSession:
    def __init__(self, http: httpx.AsyncClient, session_id: str) -> None:
        self._http = http
        self.id = session_id

    async def run(self, code: str, *, inputs: dict[str, Any] | None = None) -> ExecutionResult:
        body = _body(code=code, inputs=_inputs(inputs))
        return _result(await self._http.post(f"/v1/sessions/{self.id}/run", json=body))

    async def dump(self) -> bytes:
        response = await self._http.get(f"/v1/sessions/{self.id}/dump")
        _raise_for(response)
        return response.content

    async def close(self) -> None:
        response = await self._http.delete(f"/v1/sessions/{self.id}")
        if response.status_code != 404:
            _raise_for(response)
