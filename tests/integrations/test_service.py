"""`restricted-exec serve` as a client sees it: a real uvicorn server subprocess on 127.0.0.1,
spoken to with httpx."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from integrations.programs import ARTICLE_CODE, cpython_prints
from integrations.service_process import server
from restricted_exec import ExecutionResult
from restricted_exec.audit import AuditDatabase
from restricted_exec.language.catalogue import CATALOGUE

OPERATOR_MODULE = """
RATES = {("USD", "CNY"): 7.1, ("EUR", "USD"): 1.08}


def fx_rate(base, quote):
    \"\"\"The exchange rate from base to quote.\"\"\"
    return RATES[(base, quote)]


def acme_ledger():
    \"\"\"acme's own books.\"\"\"
    return {"balance": 1200}
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("service")
    (directory / "operator_tools.py").write_text(OPERATOR_MODULE)
    functions = {
        "fx_rate": {"target": "operator_tools:fx_rate"},
        "acme_ledger": {"target": "operator_tools:acme_ledger", "tenants": ["acme"]},
    }
    with server(
        directory,
        import_path=directory,
        host_functions=functions,
        child_reuse={"per": "caller"},
    ) as (address, _):
        yield address


def client(url: str, key: str | None = "acme-key-1") -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def result_of(response: httpx.Response) -> ExecutionResult:
    assert response.status_code == 200, response.text
    return ExecutionResult.model_validate_json(response.content)


def test_a_run_returns_the_execution_result_with_cpythons_output(url: str) -> None:
    with client(url) as http:
        result = result_of(http.post("/v1/run", json={"code": ARTICLE_CODE}))
    assert result.ok and result.stdout == cpython_prints(ARTICLE_CODE)
    assert result.isolation == "process"


def test_inputs_and_values_cross_as_tagged_json(url: str) -> None:
    with client(url) as http:
        result = result_of(
            http.post(
                "/v1/run",
                json={
                    "code": "price * 2",
                    "inputs": {"price": {"$type": "decimal", "value": "1.10"}},
                },
            )
        )
    assert result.value == Decimal("2.20")


def test_no_key_or_a_wrong_key_is_401(url: str) -> None:
    for key in (None, "not-a-key"):
        with client(url, key) as http:
            response = http.post("/v1/run", json={"code": "1"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_request_can_lower_a_limit_but_never_raise_it(url: str) -> None:
    with client(url) as http:
        lowered = result_of(
            http.post(
                "/v1/run", json={"code": "while True:\n    pass", "policy": {"timeout_s": 0.5}}
            )
        )
        assert lowered.status == "timeout"
        assert lowered.error is not None and "0.5 s" in lowered.error.message
        started = time.monotonic()
        raised = result_of(
            http.post(
                "/v1/run", json={"code": "while True:\n    pass", "policy": {"timeout_s": 60}}
            )
        )
    assert raised.status == "timeout" and time.monotonic() - started < 10
    assert raised.error is not None and "3 s" in raised.error.message  # the server's ceiling


def test_a_request_can_narrow_the_modules_but_not_widen_them(url: str) -> None:
    with client(url) as http:
        narrowed = result_of(
            http.post(
                "/v1/run", json={"code": "import statistics", "policy": {"modules": ["math"]}}
            )
        )
        widened = result_of(
            http.post("/v1/run", json={"code": "import os", "policy": {"modules": ["os", "math"]}})
        )
    assert narrowed.status == "policy_violation"
    assert widened.status == "policy_violation"


def test_malformed_bodies_are_422_naming_the_field(url: str) -> None:
    with client(url) as http:
        missing = http.post("/v1/run", json={"source": "1"})
        not_json = http.post(
            "/v1/run", content=b"{not json", headers={"content-type": "application/json"}
        )
        bad_input = http.post("/v1/run", json={"code": "1", "inputs": {"not a name": 1}})
    assert missing.status_code == 422 and "code" in missing.text
    assert not_json.status_code == 422
    assert bad_input.status_code == 422


def test_a_body_over_the_limit_is_413(url: str) -> None:
    with client(url) as http:
        response = http.post("/v1/run", json={"code": "x = 1\n" * 300_000})
    assert response.status_code == 413


def test_programs_compile_once_and_are_the_tenants_own(url: str) -> None:
    with client(url) as acme, client(url, "globex-key-1") as globex:
        created = acme.post("/v1/programs", json={"code": "round(p * (1 + r) ** n, 2)"})
        assert created.status_code == 201
        program_id = created.json()["id"]
        for p in (100, 200):
            result = result_of(
                acme.post(
                    f"/v1/programs/{program_id}/run", json={"inputs": {"p": p, "r": 0.1, "n": 2}}
                )
            )
            assert result.value == round(p * 1.1**2, 2)
        assert globex.post(f"/v1/programs/{program_id}/run", json={}).status_code == 404


def test_sessions_keep_state_dump_load_and_stay_with_their_tenant(url: str) -> None:
    with client(url) as acme, client(url, "globex-key-1") as globex:
        session_id = acme.post("/v1/sessions", json={}).json()["id"]
        result_of(acme.post(f"/v1/sessions/{session_id}/run", json={"code": "xs = [3, 1, 4]"}))
        mean = result_of(
            acme.post(
                f"/v1/sessions/{session_id}/run",
                json={"code": "import statistics\nstatistics.mean(xs)"},
            )
        )
        assert mean.value == (3 + 1 + 4) / 3
        assert globex.post(f"/v1/sessions/{session_id}/run", json={"code": "xs"}).status_code == 404
        assert globex.get(f"/v1/sessions/{session_id}").status_code == 404

        dump = acme.get(f"/v1/sessions/{session_id}/dump")
        assert dump.status_code == 200
        loaded_id = acme.post("/v1/sessions/load", content=dump.content).json()["id"]
        again = result_of(acme.post(f"/v1/sessions/{loaded_id}/run", json={"code": "sorted(xs)"}))
        assert again.value == [1, 3, 4]

        assert acme.delete(f"/v1/sessions/{session_id}").status_code == 204
        assert acme.post(f"/v1/sessions/{session_id}/run", json={"code": "1"}).status_code == 404
        assert acme.post("/v1/sessions/load", content=b"not a dump").status_code == 422


def test_a_streaming_run_sends_output_then_the_result(url: str) -> None:
    code = "import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.06)\n'done'"
    with client(url) as http, http.stream("POST", "/v1/run/stream", json={"code": code}) as stream:
        items = [json.loads(line) for line in stream.iter_lines() if line]
    outputs = "".join(item["output"] for item in items if "output" in item)
    assert "result" in items[-1] and all("output" in item for item in items[:-1])
    result = ExecutionResult.model_validate_json(json.dumps(items[-1]["result"]))
    assert outputs == result.stdout == "0\n1\n2\n" and result.value == "done"
    assert len(items) >= 3  # the output came in parts, before the result


def test_health_readiness_metrics_modules_and_the_openapi_document(url: str) -> None:
    with client(url) as http:
        assert http.get("/healthz").json() == {"status": "alive"}
        assert http.get("/readyz").json()["ready"] is True
        result_of(http.post("/v1/run", json={"code": "1"}))
        metrics = http.get("/metrics").text
        assert 'restricted_exec_runs_total{status="ok",tenant="acme"}' in metrics
        modules = http.get("/v1/modules").json()
        assert modules["modules"]["math"]["allowed"] == sorted(CATALOGUE["math"].allowed)
        assert "/v1/run" in http.get("/openapi.json").json()["paths"]


def test_overload_gives_429_at_once_and_never_a_5xx(tmp_path: Path) -> None:
    with server(tmp_path, max_concurrency=1, queue_limit=1) as (address, _):
        slow = {"code": "import time\ntime.sleep(1.0)\n1"}

        def post(_: int) -> int:
            with client(address) as http:
                return http.post("/v1/run", json=slow).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(post, range(8)))
    assert set(codes) <= {200, 429}
    assert codes.count(200) >= 2 and codes.count(429) >= 1


def test_sigterm_lets_an_accepted_run_finish(tmp_path: Path) -> None:
    with server(tmp_path) as (address, process), client(address) as http:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(
                http.post, "/v1/run", json={"code": "import time\ntime.sleep(1.0)\nprint('done')"}
            )
            time.sleep(0.4)
            process.send_signal(signal.SIGTERM)
            response = pending.result(timeout=30)
        assert result_of(response).stdout == "done\n"
        # uvicorn finishes the request, shuts the app down, then ends by the signal it got.
        assert process.wait(30) in (0, -signal.SIGTERM)
    # The app closed its Sandbox and audit log on the way out: the run is recorded.
    records = AuditDatabase(tmp_path / "audit.sqlite3").query()
    assert [(r.tenant, r.caller, r.status) for r in records] == [("acme", "k0", "ok")]


def test_a_body_with_nan_is_answered_not_a_500(url: str) -> None:
    headers = {"content-type": "application/json"}
    with client(url) as http:
        wrong = http.post("/v1/run", content=b'{"code": 1, "inputs": {"x": NaN}}', headers=headers)
        right = http.post(
            "/v1/run", content=b'{"code": "x", "inputs": {"x": NaN}}', headers=headers
        )
    assert wrong.status_code == 422
    assert [error["loc"] for error in wrong.json()["detail"]] == [["body", "code"]]
    assert "NaN" not in wrong.text  # the answer does not echo what was sent
    assert right.status_code == 200
    result = ExecutionResult.model_validate_json(right.content)
    assert result.ok and result.value != result.value  # NaN, as CPython would give


def test_dropping_a_running_session_for_room_does_not_stall_other_requests(
    tmp_path: Path,
) -> None:
    import concurrent.futures

    with server(tmp_path, max_sessions_per_tenant=1) as (address, _), client(address) as http:
        busy = http.post("/v1/sessions", json={}).json()["id"]
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(
                http.post, f"/v1/sessions/{busy}/run", json={"code": "while True:\n    pass"}
            )
            time.sleep(0.3)  # the run is in progress
            started = time.monotonic()
            http.post("/v1/sessions", json={})  # drops the busy session to make room
            assert http.get("/healthz").status_code == 200
            assert time.monotonic() - started < 2.0  # not the busy run's 3 s timeout
            assert running.result(timeout=30).status_code == 200


# -- host functions: the operator's, named in the server's config ------------------------


def test_a_run_calls_the_host_functions_the_server_configures(url: str) -> None:
    code = "print(round(100 * fx_rate('USD', 'CNY'), 2))"
    with client(url) as http:
        result = result_of(http.post("/v1/run", json={"code": code}))
        program_id = http.post("/v1/programs", json={"code": code}).json()["id"]
        from_program = result_of(http.post(f"/v1/programs/{program_id}/run", json={}))
        session_id = http.post("/v1/sessions", json={}).json()["id"]
        in_session = result_of(http.post(f"/v1/sessions/{session_id}/run", json={"code": code}))
        streamed = http.post("/v1/run/stream", json={"code": code}).text
    assert result.stdout == from_program.stdout == in_session.stdout == "710.0\n"
    assert '"output": "710.0\\n"' in streamed


def test_a_host_function_reaches_only_the_tenants_it_names(url: str) -> None:
    code = "print(acme_ledger()['balance'])"
    with client(url) as acme, client(url, "globex-key-1") as globex:
        assert result_of(acme.post("/v1/run", json={"code": code})).stdout == "1200\n"
        refused = result_of(globex.post("/v1/run", json={"code": code}))
        assert acme.get("/v1/functions").json() == {
            "fx_rate": "The exchange rate from base to quote.",
            "acme_ledger": "acme's own books.",
        }
        assert globex.get("/v1/functions").json() == {
            "fx_rate": "The exchange rate from base to quote."
        }
    assert refused.error is not None and refused.error.type == "NameError"


def test_a_request_cannot_bring_host_functions_of_its_own(url: str) -> None:
    with client(url) as http:
        response = http.post("/v1/run", json={"code": "1", "functions": {"evil": "os:system"}})
    assert response.status_code == 422


def test_an_input_named_as_a_host_function_is_a_422_not_a_shadow(url: str) -> None:
    body = {"code": "fx_rate", "inputs": {"fx_rate": 1}}
    with client(url) as http:
        plain = http.post("/v1/run", json=body)
        streamed = http.post("/v1/run/stream", json=body)
    assert plain.status_code == streamed.status_code == 422
    assert "fx_rate" in plain.json()["detail"]


# -- warm children: each API key a trust domain of its own (child_reuse per caller) ----------


def warm_counts(http: httpx.Client) -> dict[str, float]:
    counts = {}
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("restricted_exec_warm_children_total{"):
            event = line.split('event="', 1)[1].split('"', 1)[0]
            counts[event] = float(line.rsplit(" ", 1)[1])
    return counts


def test_a_keys_consecutive_runs_share_a_warm_child(url: str) -> None:
    # per="caller" reuses only for runs attributed to a caller: the reuse proves each request's
    # key id reached the Sandbox as its caller (the library's tests keep callers apart).
    with client(url) as acme:
        acme.post("/v1/run", json={"code": "print(1)"})
        before = warm_counts(acme)
        assert result_of(acme.post("/v1/run", json={"code": "print(2)"})).stdout == "2\n"
        after = warm_counts(acme)
    assert after["reused"] == before["reused"] + 1
    assert after["started"] == before["started"]
