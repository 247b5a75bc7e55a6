"""The HTTP service under load, against the in-process API on the same machine (issue 19).

    python -m benchmarks.service [--seconds 5] [--clients 1,4,16] [--quick]

In one run, on 127.0.0.1 (``restricted-exec serve`` subprocesses, audit log off, anonymous):

- **overhead**: one client, the compound-interest Program run through ``POST
  /v1/programs/{id}/run`` against ``Program.run`` in this process, in alternating blocks; the
  difference of the medians is the service's overhead per request (target: p50 <= 1 ms), and
  httpx's own cost as the client is given beside it;
- **throughput**: N concurrent clients for a few seconds against one server and against two
  (the clients alternate between them), beside N threads on one in-process Sandbox;
- **overload**: ten times the server's capacity (running + queued) at once: every answer must
  be a result or a 429, and the server's memory is read before and after.

Timing never fails anything; a 5xx or a wrong answer does (exit status 1).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client as http_client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.core import percentile
from benchmarks.host_floor import print_floor

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (ROOT / "examples" / "compound_interest.py").read_text()
TIMEOUT_S = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve(config: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """A server subprocess; its URL and pid."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "service.json"
        path.write_text(
            json.dumps(
                {"allow_anonymous": True, "audit_path": None, "policy": {"timeout_s": TIMEOUT_S}}
                | config
            )
        )
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "restricted_exec.cli",
                "serve",
                "--port",
                str(port),
                "--config",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            else:
                raise RuntimeError("the server was not ready within 60 s")
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def overhead(url: str, runs: int, expected: str) -> dict[str, float]:
    """One caller at a time, in alternating quiet blocks (a block's first calls dropped): on a
    2-CPU machine, interleaving single calls would time each side against the other side's
    leftover work (the other Sandbox's fork server preparing its next child). The service is
    called twice over: with a bare HTTP/1.1 client (``http.client``, one kept-alive
    connection), whose time less the in-process run's is the server's overhead, and with
    httpx, as ``restricted_exec.client`` calls it."""
    from restricted_exec import Policy, Sandbox

    port = int(url.rsplit(":", 1)[1])
    samples: dict[str, list[float]] = {"in-process": [], "service": [], "service, httpx": []}
    block, warm = 25, 5
    with (
        Sandbox(Policy(timeout_s=TIMEOUT_S)) as sandbox,
        httpx.Client(base_url=url) as http,
        contextlib.closing(http_client.HTTPConnection("127.0.0.1", port)) as bare,
    ):
        program = sandbox.compile_program(SOURCE)
        program_id = http.post("/v1/programs", json={"code": SOURCE}).json()["id"]
        path = f"/v1/programs/{program_id}/run"

        def bare_call() -> str:
            bare.request("POST", path, body=b"{}", headers={"content-type": "application/json"})
            return str(json.loads(bare.getresponse().read())["stdout"])

        calls: dict[str, Callable[[], str]] = {
            "in-process": lambda: program.run().stdout,
            "service": bare_call,
            "service, httpx": lambda: str(http.post(path, json={}).json()["stdout"]),
        }
        while min(len(taken) for taken in samples.values()) < runs:
            for side, call in calls.items():
                for index in range(block + warm):
                    started = time.perf_counter()
                    stdout = call()
                    elapsed = (time.perf_counter() - started) * 1000
                    if stdout != expected:
                        raise RuntimeError(f"{side} printed {stdout!r}")
                    if index >= warm:
                        samples[side].append(elapsed)
    p50 = {side: statistics.median(taken) for side, taken in samples.items()}
    return {
        "in_process_p50_ms": p50["in-process"],
        "in_process_p99_ms": percentile(samples["in-process"], 0.99),
        "service_p50_ms": p50["service"],
        "service_p99_ms": percentile(samples["service"], 0.99),
        "service_httpx_p50_ms": p50["service, httpx"],
        "overhead_p50_ms": p50["service"] - p50["in-process"],
        "httpx_client_p50_ms": p50["service, httpx"] - p50["service"],
    }


# One client's call: the status of its answer, and what the program printed if it ran.
Call = Callable[[], tuple[object, str | None]]


def _drive(
    clients: int,
    seconds: float,
    expected: str,
    open_call: Callable[[int], contextlib.AbstractContextManager[Call]],
) -> tuple[list[float], dict[object, int]]:
    """``clients`` threads calling for ``seconds``: the latencies (ms) of the calls whose
    program ran, and the count of each status. A program that printed anything but
    ``expected`` raises."""
    latencies: list[float] = []
    statuses: dict[object, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        with open_call(number) as call:
            while time.monotonic() < stop:
                started = time.perf_counter()
                status, stdout = call()
                elapsed = (time.perf_counter() - started) * 1000
                if stdout is not None and stdout != expected:
                    raise RuntimeError(f"a wrong answer: {stdout!r}")
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if stdout is not None:
                        latencies.append(elapsed)

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return latencies, statuses


def _summary(latencies: list[float], seconds: float) -> dict[str, Any]:
    return {
        "runs_per_s": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
    }


def service_throughput(
    urls: list[str], clients: int, seconds: float, expected: str, source: str = SOURCE
) -> dict[str, Any]:
    program_ids = [
        httpx.post(f"{url}/v1/programs", json={"code": source}).json()["id"] for url in urls
    ]

    @contextlib.contextmanager
    def open_call(number: int) -> Iterator[Call]:
        target = number % len(urls)
        with httpx.Client(base_url=urls[target], timeout=60) as http:

            def call() -> tuple[object, str | None]:
                response = http.post(f"/v1/programs/{program_ids[target]}/run", json={})
                ran = response.status_code == 200
                return response.status_code, response.json()["stdout"] if ran else None

            yield call

    latencies, statuses = _drive(clients, seconds, expected, open_call)
    return {**_summary(latencies, seconds), "statuses": statuses}


def in_process_throughput(clients: int, seconds: float, expected: str) -> dict[str, Any]:
    from restricted_exec import Policy, Sandbox

    with Sandbox(Policy(timeout_s=TIMEOUT_S), queue_limit=max(256, clients)) as sandbox:
        program = sandbox.compile_program(SOURCE)
        program.run()

        def call() -> tuple[object, str | None]:
            result = program.run()
            return result.status, result.stdout if result.status == "ok" else None

        latencies, _ = _drive(clients, seconds, expected, lambda _: contextlib.nullcontext(call))
    return _summary(latencies, seconds)


OVERLOAD_SOURCE = "import time\ntime.sleep(0.05)\nprint('done')"


def overload(seconds: float) -> dict[str, Any]:
    """Ten times the capacity of a server with max_concurrency 2 and queue_limit 4: 60
    clients, each run holding its slot for 50 ms."""
    with serve({"max_concurrency": 2, "queue_limit": 4}) as (url, pid):
        before = rss_kb(pid)
        result = service_throughput(
            [url], clients=60, seconds=seconds, expected="done\n", source=OVERLOAD_SOURCE
        )
        after = rss_kb(pid)
    return {**result, "server_rss_kb_before": before, "server_rss_kb_after": after}


def _expected() -> str:
    from restricted_exec import run

    return run(SOURCE).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--runs", type=int, default=300, help="runs each side for the overhead")
    parser.add_argument("--quick", action="store_true", help="a smoke run: short and small")
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    clients = [2] if args.quick else [int(n) for n in args.clients.split(",")]
    runs = 20 if args.quick else args.runs
    expected = _expected()
    report: dict[str, Any] = {"host_floor": print_floor()}
    with serve({}) as (first, _), serve({}) as (second, _):
        report["overhead"] = overhead(first, runs, expected)
        o = report["overhead"]
        print(
            f"overhead, one client: service p50 {o['service_p50_ms']:.3f} ms, in-process p50 "
            f"{o['in_process_p50_ms']:.3f} ms: {o['overhead_p50_ms']:+.3f} ms per request "
            f"(p99 {o['service_p99_ms']:.3f} / {o['in_process_p99_ms']:.3f} ms); httpx as the "
            f"client adds {o['httpx_client_p50_ms']:+.3f} ms"
        )
        for n in clients:
            one = service_throughput([first], n, seconds, expected)
            two = service_throughput([first, second], n, seconds, expected)
            local = in_process_throughput(n, seconds, expected)
            report[f"{n} clients"] = {"one server": one, "two servers": two, "in-process": local}
            for name, numbers in report[f"{n} clients"].items():
                p50 = numbers["p50_ms"]
                print(
                    f"{n:3d} clients  {name:11s} {numbers['runs_per_s']:8.1f} runs/s  "
                    f"p50 {p50 if p50 is None else round(p50, 3)} ms  "
                    f"statuses {numbers.get('statuses', '-')}"
                )
    report["overload"] = overload(seconds)
    o = report["overload"]
    print(
        f"overload, 60 clients against 2 running + 4 queued: statuses {o['statuses']}, server "
        f"RSS {o['server_rss_kb_before']:,} -> {o['server_rss_kb_after']:,} kB"
    )
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    server_errors = [
        code
        for block in report.values()
        for numbers in (block.values() if "statuses" not in block else [block])
        if isinstance(numbers, dict)
        for code in numbers.get("statuses", {})
        if int(code) >= 500
    ]
    return 1 if server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
