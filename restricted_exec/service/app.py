"""The service's ASGI application (FastAPI, served by uvicorn).

Every route that runs code passes the one ``Admission`` gate (429 past it) and then the
Sandbox's tenant-fair scheduler; the threads that wait on the Sandbox come from a pool sized
to the gate, so nothing queues without bound. A request's tenant is its API key's; programs
and sessions are found by (tenant, id) only. Results are ``ExecutionResult`` JSON, as
``ExecutionResult.model_dump_json()`` writes it.
"""

import asyncio
import concurrent.futures
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from restricted_exec.audit import AuditLog
from restricted_exec.errors import InputError, SandboxClosedError
from restricted_exec.host.callers import attribute_context_to
from restricted_exec.host.host_calls import checked_functions
from restricted_exec.host.limits import PolicyRequest, clamped
from restricted_exec.language.catalogue import listing
from restricted_exec.language.values import UnsupportedValue, decode
from restricted_exec.result import ExecutionResult
from restricted_exec.sandbox import Program, Sandbox
from restricted_exec.service.admission import Admission, cpu_quota
from restricted_exec.service.config import ServiceConfig
from restricted_exec.service.functions import ServedFunctions
from restricted_exec.service.keys import ApiKey, ApiKeys
from restricted_exec.service.registry import Registry
from restricted_exec.session import Session

if TYPE_CHECKING:
    from restricted_exec.jobs.queue import Jobs

__all__ = ["create_app"]

ANONYMOUS = ApiKey("anonymous", "anonymous")


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    inputs: dict[str, Any] | None = None
    policy: PolicyRequest | None = None


class ProgramBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    policy: PolicyRequest | None = None


class InputsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] | None = None


class SessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: PolicyRequest | None = None


class CellBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    inputs: dict[str, Any] | None = None


class Created(BaseModel):
    id: str


class JobInfo(BaseModel):
    id: str
    state: str
    result: dict[str, Any] | None = None


class SessionInfo(BaseModel):
    id: str
    closed: bool
    ended_because: str | None


def tagged_inputs(inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """A request's inputs: JSON, with tagged values (``{"$type": "decimal", ...}``) as
    ExecutionResult JSON writes them."""
    if inputs is None:
        return None
    try:
        decoded = decode(inputs)
    except UnsupportedValue as problem:
        raise HTTPException(422, f"inputs: {problem}") from None
    if not isinstance(decoded, dict):
        raise HTTPException(422, "inputs: not an object")
    return decoded


def result_response(result: ExecutionResult) -> Response:
    return Response(result.model_dump_json(), media_type="application/json")


class BodyLimit:
    """Answer 413 to a request whose body is larger than ``limit`` bytes, before it is read
    in full (by its Content-Length, or as its chunks arrive)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self._limit:
                await _too_large(self._limit, send)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._limit:
                    raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await _too_large(self._limit, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(limit: int, send: Send) -> None:
    body = json.dumps({"detail": f"the request body is larger than {limit:,} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(config: ServiceConfig, keys: ApiKeys | None = None) -> FastAPI:
    """The application for ``config``. ``keys``: the API keys (default: loaded as the config
    says; none needed with ``allow_anonymous``)."""
    if config.policy.isolation != "process":
        raise ValueError(
            "the service runs code that models wrote, so only in process isolation (inline "
            "mode would run it in the server's own process, behind the language layer alone)"
        )
    if keys is None and not config.allow_anonymous:
        keys = ApiKeys.load(config.api_keys_file)
    served = ServedFunctions(config.host_functions)  # (imported now: a bad target fails here)
    concurrency = config.max_concurrency or cpu_quota()
    admission = Admission(concurrency + config.queue_limit)
    programs: Registry[Program] = Registry(config.max_programs_per_tenant)
    sessions: Registry[Session] = Registry(config.max_sessions_per_tenant or config.max_sessions)
    holder: dict[str, Sandbox] = {}
    ready = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # The threads that wait on the Sandbox: as many as the gate lets in, and a few for
        # what does not pass it (opening, dumping and closing sessions).
        pool = concurrent.futures.ThreadPoolExecutor(
            admission.capacity + 4, thread_name_prefix="restricted-exec-run"
        )
        loop.set_default_executor(pool)
        audit = AuditLog.sqlite(config.audit_path) if config.audit_path is not None else None
        sandbox = Sandbox(
            config.policy,
            max_concurrency=concurrency,
            queue_limit=config.queue_limit,
            tenants=config.tenants,
            audit=audit,
            max_sessions=config.max_sessions,
            max_sessions_per_tenant=config.max_sessions_per_tenant,
            child_reuse=config.child_reuse,
        )
        holder["sandbox"] = sandbox
        await asyncio.to_thread(sandbox.start)
        ready.set()
        try:
            yield
        finally:
            ready.clear()
            await asyncio.to_thread(sandbox.close)  # (it flushes the audit log)
            if audit is not None:
                await asyncio.to_thread(audit.close)
            pool.shutdown(wait=False)

    app = FastAPI(
        title="restricted_exec",
        summary="Run untrusted Python exactly as CPython would, in a locked-down sandbox.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, problem: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes each wrong input back, which fails to render when it
        # holds a NaN (Python's JSON parser takes one) and returns what the client sent: say
        # where and what is wrong, not the input.
        detail = [
            {"type": error.get("type"), "loc": list(error.get("loc", ())), "msg": error.get("msg")}
            for error in problem.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    def sandbox() -> Sandbox:
        found = holder.get("sandbox")
        if found is None or not ready.is_set():
            raise HTTPException(503, "the service is starting or stopping")
        return found

    # async, though it never waits: FastAPI runs a plain ``def`` dependency on a worker
    # thread, a thread handoff each way on every request.
    async def caller(request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        key = header[7:] if header.lower().startswith("bearer ") else None
        key = key or request.headers.get("x-api-key")
        if key is None and config.allow_anonymous:
            return ANONYMOUS
        found = keys.find(key) if key and keys is not None else None
        if found is None:
            raise HTTPException(
                401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"}
            )
        # Each request runs in a task, and so a context, of its own, which its runs carry to
        # their threads: the audit log records this key with every run the request starts.
        attribute_context_to(found.key_id)
        return found

    Caller = Annotated[ApiKey, Depends(caller)]

    async def admitted(work: Callable[[], Awaitable[Response]]) -> Response:
        if not admission.try_enter():
            raise HTTPException(
                429,
                f"the service is running and queueing {admission.capacity} requests; retry",
                headers={"Retry-After": "1"},
            )
        try:
            return await work()
        except InputError as problem:
            raise HTTPException(422, str(problem)) from None
        except SandboxClosedError as problem:
            raise HTTPException(503, str(problem)) from None
        finally:
            admission.leave()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if not ready.is_set():
            return JSONResponse({"ready": False}, status_code=503)
        return JSONResponse({"ready": True, "in_flight": admission.in_flight})

    @app.get("/metrics")
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        from restricted_exec.metrics import register_prometheus

        registry = CollectorRegistry()
        register_prometheus(sandbox().stats, registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/modules")
    async def modules(who: Caller) -> dict[str, object]:
        return listing(sandbox().policy.modules)

    @app.get("/v1/functions")
    async def functions(who: Caller) -> dict[str, str]:
        """The host functions this caller's runs may call, each with its docstring's first
        line."""
        return served.described(who.tenant)

    @app.post("/v1/run")
    async def run(body: RunBody, who: Caller) -> Response:
        box = sandbox()
        policy = clamped(box.policy, body.policy)
        inputs = tagged_inputs(body.inputs)

        async def work() -> Response:
            result = await box.run_async(
                body.code,
                inputs=inputs,
                policy=policy,
                tenant=who.tenant,
                functions=served.for_tenant(who.tenant),
            )
            return result_response(result)

        return await admitted(work)

    @app.post("/v1/run/stream")
    async def run_stream(body: RunBody, who: Caller) -> StreamingResponse:
        box = sandbox()
        policy = clamped(box.policy, body.policy)
        inputs = tagged_inputs(body.inputs)
        functions = served.for_tenant(who.tenant)
        try:  # here, while a 422 can still be answered: the stream's 200 goes out first
            checked_functions(functions, inputs)
        except InputError as problem:
            raise HTTPException(422, str(problem)) from None
        if not admission.try_enter():
            raise HTTPException(429, "the service is full; retry", headers={"Retry-After": "1"})

        async def lines() -> AsyncIterator[bytes]:
            try:
                async for item in box.stream(
                    body.code,
                    inputs=inputs,
                    policy=policy,
                    tenant=who.tenant,
                    functions=functions,
                ):
                    if isinstance(item, str):
                        yield json.dumps({"output": item}).encode() + b"\n"
                    else:
                        yield b'{"result":' + item.model_dump_json().encode() + b"}\n"
            finally:
                admission.leave()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.post("/v1/programs", status_code=201)
    async def create_program(body: ProgramBody, who: Caller) -> Created:
        box = sandbox()
        policy = clamped(box.policy, body.policy)
        program = await asyncio.to_thread(box.compile_program, body.code, policy=policy)
        program_id, _ = programs.add(who.tenant, program)
        return Created(id=program_id)

    @app.post("/v1/programs/{program_id}/run")
    async def run_program(program_id: str, body: InputsBody, who: Caller) -> Response:
        program = programs.get(who.tenant, program_id)
        if program is None:
            raise HTTPException(404, "no such program")
        inputs = tagged_inputs(body.inputs)

        async def work() -> Response:
            result = await program.run_async(
                inputs=inputs, tenant=who.tenant, functions=served.for_tenant(who.tenant)
            )
            return result_response(result)

        return await admitted(work)

    @app.post("/v1/sessions", status_code=201)
    async def create_session(body: SessionBody, who: Caller) -> Created:
        box = sandbox()
        policy = clamped(box.policy, body.policy)
        try:
            session = box.session(
                tenant=who.tenant, policy=policy, functions=served.for_tenant(who.tenant)
            )
        except SandboxClosedError as problem:
            raise HTTPException(503, str(problem)) from None
        return Created(id=keep_session(who, session))

    @app.post("/v1/sessions/load", status_code=201)
    async def load_session(request: Request, who: Caller) -> Created:
        box = sandbox()
        try:
            session = box.load_session(
                await request.body(),
                tenant=who.tenant,
                functions=served.for_tenant(who.tenant),
            )
        except InputError as problem:
            raise HTTPException(422, str(problem)) from None
        except SandboxClosedError as problem:
            raise HTTPException(503, str(problem)) from None
        return Created(id=keep_session(who, session))

    def keep_session(who: ApiKey, session: Session) -> str:
        session_id, dropped = sessions.add(who.tenant, session)
        for old in dropped:
            old.close_later()  # never on the event loop, which serves every tenant
        return session_id

    def open_session(who: ApiKey, session_id: str) -> Session:
        session = sessions.get(who.tenant, session_id)
        if session is None:
            raise HTTPException(404, "no such session")
        if session.closed:  # an idle or lifetime limit ended it
            sessions.pop(who.tenant, session_id)
            why = f": {session.ended_because}" if session.ended_because else ""
            raise HTTPException(404, f"the session has ended{why}")
        return session

    @app.get("/v1/sessions/{session_id}")
    async def session_info(session_id: str, who: Caller) -> SessionInfo:
        session = open_session(who, session_id)
        return SessionInfo(
            id=session_id, closed=session.closed, ended_because=session.ended_because
        )

    @app.post("/v1/sessions/{session_id}/run")
    async def run_cell(session_id: str, body: CellBody, who: Caller) -> Response:
        session = open_session(who, session_id)
        inputs = tagged_inputs(body.inputs)

        async def work() -> Response:
            return result_response(await session.run_async(body.code, inputs=inputs))

        return await admitted(work)

    @app.get("/v1/sessions/{session_id}/dump")
    async def dump_session(session_id: str, who: Caller) -> Response:
        session = open_session(who, session_id)
        dump = await asyncio.to_thread(session.dump)
        return Response(dump, media_type="application/json")

    @app.delete("/v1/sessions/{session_id}", status_code=204)
    async def delete_session(session_id: str, who: Caller) -> Response:
        session = sessions.pop(who.tenant, session_id)
        if session is None:
            raise HTTPException(404, "no such session")
        await asyncio.to_thread(session.close)
        return Response(status_code=204)

    jobs: list[Jobs] = []

    def job_queue() -> "Jobs":
        if config.broker_url is None:
            raise HTTPException(404, "this server has no job queue (broker_url)")
        if not jobs:
            from restricted_exec.jobs.queue import Jobs

            jobs.append(Jobs(config.broker_url, result_expires_s=config.job_result_expires_s))
        return jobs[0]

    @app.post("/v1/jobs", status_code=202)
    async def submit_job(body: RunBody, who: Caller) -> Created:
        queue = job_queue()
        policy = clamped(sandbox().policy, body.policy)
        inputs = tagged_inputs(body.inputs)
        job_id = await asyncio.to_thread(
            queue.submit, body.code, inputs=inputs, policy=policy, tenant=who.tenant
        )
        return Created(id=job_id)

    @app.get("/v1/jobs/{job_id}")
    async def job_status(job_id: str, who: Caller) -> JobInfo:
        status = await asyncio.to_thread(job_queue().status, job_id, tenant=who.tenant)
        if status.state == "unknown":
            raise HTTPException(404, "no such job (or its result expired)")
        result = status.result.model_dump(mode="json") if status.result is not None else None
        return JobInfo(id=job_id, state=status.state, result=result)

    return app
