"""Hostile source costs the host only what the docs promise, and nothing runs.

Compilation happens in the caller's process, outside ``timeout_s`` and ``memory_mb``. The
docs promise that hostile source is refused before a child starts and costs at most ~0.7 MB
of *transient* memory per KB, which later compiles reuse rather than add to. Each source is measured
in a fresh interpreter: after a refused compile the C allocator may keep the freed pages for
reuse, so an RSS check in this long-lived pytest process would measure the heap's layout, not
the compiler (CI once kept 26 MB of a 44 MB parse that a quiet process returned).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MB = 1024
DOCUMENTED_PEAK_KB_PER_KB = 0.7 * MB
# The interpreter's own noise around a compile: small sources are bounded by this, not by size.
PEAK_FLOOR_KB = 8 * MB
REPEAT_GROWTH_KB = 4 * MB
RSS_GROWTH_KB = 20 * MB

HOSTILE_SOURCE = {
    "ten_megabytes_of_comment": ("#" + "x" * (10 * 2**20), "policy_violation"),
    "ten_megabytes_of_statements": ("x = 1\n" * (10 * 2**20 // 6), "policy_violation"),
    "nested_parentheses": ("(" * 10**5 + "1" + ")" * 10**5, "syntax_error"),
    "nested_lists": ("[" * 10**5 + "]" * 10**5, "syntax_error"),
    "unary_chain": ("-" * 10**5 + "1", "syntax_error"),
    "attribute_chain": ("x = json" + ".dumps" * 10**5, "syntax_error"),
    "call_chain": ("f = print" + "()" * 10**5, "syntax_error"),
    "lambda_chain": ("f = " + "lambda: " * 10**4 + "1", "syntax_error"),
    "long_sum": ("+".join(["1"] * 10**5), "syntax_error"),
    "sum_of_1500_terms": ("+".join(["1"] * 1500), "policy_violation"),
    "deep_indentation": (
        "".join(" " * i + "if 1:\n" for i in range(150)) + " " * 150 + "pass\n",
        "syntax_error",
    ),
    "nul_byte": ("print(1)\x00", "syntax_error"),
    "lone_surrogate": ("print('\udcff')", "syntax_error"),
    "huge_int_literal": ("x = " + "9" * 800_000, "syntax_error"),
}

# Above the 64 KiB default, so the parser and the transformer meet the hostile shapes instead
# of the size check refusing them first; the 10 MB sources still meet the size check.
MAX_SOURCE_BYTES = 1_000_000

_MEASURE = """
import ctypes, gc, json, time
from restricted_exec import Policy, Sandbox

def status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

def rss_kb():
    # What the process holds, not what its allocator keeps for reuse: glibc hands freed pages
    # back only when asked, and how many it kept differs by Python version and heap layout.
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    return status_kb("VmRSS")

def reset_peak():
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM restarts from the current RSS

def measured_run(sandbox, source):
    # (result, seconds, peak KB above the RSS before, RSS after) of one run
    before = rss_kb()
    reset_peak()
    started = time.monotonic()
    result = sandbox.run(source)
    elapsed = time.monotonic() - started
    return result, elapsed, status_kb("VmHWM") - before, rss_kb()
"""

_PROBE = (
    _MEASURE
    + """
import sys

request = json.loads(sys.stdin.read())
source = request["source"]
policy = Policy(timeout_s=1, memory_mb=64, max_source_bytes=request["max_source_bytes"])
# A different text, so the compile cache cannot answer: the compiler runs again.
again = source + "\\n#"
with Sandbox(policy) as sandbox:
    sandbox.run("print(1)")  # fork server up, caches warm
    first, elapsed, peak, after_first = measured_run(sandbox, source)
    _, _, _, after_second = measured_run(sandbox, again)
    after = sandbox.run("print(1)")
    error = first.error
    print(json.dumps({
        "status": first.status,
        "stdout": first.stdout,
        "cpu_ms": first.cpu_ms,
        "message": error.message if error is not None else "",
        "elapsed": elapsed,
        "peak_kb": peak,
        "repeat_growth_kb": after_second - after_first,
        "after": [after.status, after.stdout],
    }))
"""
)


def _python(script: str, stdin: str = "") -> dict[str, object]:
    """Run ``script`` in a fresh interpreter and return the JSON object it printed last."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


def _probe(source: str) -> dict[str, object]:
    return _python(_PROBE, json.dumps({"source": source, "max_source_bytes": MAX_SOURCE_BYTES}))


@pytest.mark.parametrize(("source", "status"), HOSTILE_SOURCE.values(), ids=HOSTILE_SOURCE.keys())
def test_hostile_source_is_refused_within_the_documented_host_cost(
    source: str, status: str
) -> None:
    report = _probe(source)
    assert report["status"] == status, report["message"]
    assert report["stdout"] == ""
    assert report["cpu_ms"] is None  # no child ran
    assert str(report["message"]).strip()
    assert report["after"] == ["ok", "1\n"]  # the Sandbox still serves
    # Compiling runs in the caller's process, outside timeout_s: a ceiling of four times the
    # probe's timeout_s, not a speed claim (the docs say ~3.5 ms per KB).
    assert float(report["elapsed"]) < 4.0, report  # type: ignore[arg-type]
    size_kb = len(source.encode("utf-8", "surrogatepass")) / 1024
    if size_kb * 1024 > MAX_SOURCE_BYTES:
        allowed_kb = PEAK_FLOOR_KB + size_kb  # one UTF-8 copy, to weigh and hash it
    else:
        allowed_kb = PEAK_FLOOR_KB + DOCUMENTED_PEAK_KB_PER_KB * size_kb
    assert int(report["peak_kb"]) <= allowed_kb, report  # type: ignore[call-overload]
    # Transient, not kept: compiling it again reuses what the first compile freed.
    assert int(report["repeat_growth_kb"]) < REPEAT_GROWTH_KB, report  # type: ignore[call-overload]


def test_ten_megabyte_source_is_refused_by_max_source_bytes() -> None:
    report = _probe("#" + "x" * (10 * 2**20))
    assert report["status"] == "policy_violation"
    assert "max_source_bytes" in str(report["message"])


_LARGEST_ACCEPTED = """
source = "f()\\n" * (Policy().max_source_bytes // 4)   # the largest the default accepts
with Sandbox(Policy(timeout_s=1, memory_mb=64)) as sandbox:
    sandbox.run("print(1)")
    before = rss_kb()
    result, elapsed, peak, after = measured_run(sandbox, source)
    print(json.dumps({"status": result.status, "elapsed": elapsed, "peak_kb": peak,
                      "rss_growth_kb": after - before}))
"""

_TEN_OVERSIZED = """
with Sandbox(Policy(timeout_s=1, memory_mb=64)) as sandbox:
    before = rss_kb()
    statuses = {sandbox.run(f"#{i}" + "x" * (10 * 2**20)).status for i in range(10)}
    print(json.dumps({"status": "/".join(sorted(statuses)), "rss_growth_kb": rss_kb() - before}))
"""


def test_largest_accepted_program_compiles_within_the_limit_and_host_memory() -> None:
    report = _python(_MEASURE + _LARGEST_ACCEPTED)
    assert report["status"] == "error", report  # NameError: f - the program did run
    # A ceiling of four times timeout_s, not a speed claim: the docs say ~0.25 s.
    assert float(report["elapsed"]) < 4.0, report  # type: ignore[arg-type]
    # Transient: within the documented ~0.7 MB per KB of source (64 KiB here).
    allowed_peak_kb = PEAK_FLOOR_KB + DOCUMENTED_PEAK_KB_PER_KB * 64
    assert int(report["peak_kb"]) <= allowed_peak_kb, report  # type: ignore[call-overload]
    # Kept: the compiled program in the compile cache, and nothing of the compile's garbage.
    assert int(report["rss_growth_kb"]) < RSS_GROWTH_KB, report  # type: ignore[call-overload]


def test_refused_oversized_sources_do_not_accumulate_in_host_memory() -> None:
    report = _python(_MEASURE + _TEN_OVERSIZED)
    assert report["status"] == "policy_violation", report
    assert int(report["rss_growth_kb"]) < RSS_GROWTH_KB, report  # type: ignore[call-overload]
