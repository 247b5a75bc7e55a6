"""What the production features cost on the run path (issue 6).

    python -m benchmarks.features_overhead [--quick] [--out benchmarks/results]

The article's compound-interest program through ``Program.run``, in process and in
inline mode, on Sandboxes that differ in one feature each, called in turn (A B C A B C ...)
so drift on this noisy shared VM hits all alike:

- ``plain``: the default Sandbox (metrics and the fair scheduler are always on);
- ``audit (SQLite)``: the same with ``audit=AuditLog.sqlite(...)`` in a temp dir, its writer
  thread batching in the background (target: at most +10 % on the p50);
- ``deterministic, cache hit``: ``Policy(deterministic=True)``, the same inputs every call.

Also the caller-side cost of ``AuditLog.log_run`` alone (microseconds), and how many
records the writer stored. Timing never fails anything; the script only reports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.core import percentile
from benchmarks.host_floor import print_floor
from benchmarks.inline_micro import interleaved, summarise
from benchmarks.workloads import COMPOUND_INTEREST

TARGET_AUDIT = 1.10


def _sides(isolation: str, workdir: Path) -> tuple[dict[str, Any], list[Any]]:
    from restricted_exec import Policy, Sandbox
    from restricted_exec.audit import AuditLog

    policy = Policy(isolation=isolation)  # type: ignore[arg-type]
    audit = AuditLog.sqlite(workdir / f"audit-{isolation}.db")
    plain = Sandbox(policy)
    audited = Sandbox(policy, audit=audit)
    cached = Sandbox(policy.replace(deterministic=True))
    programs = {
        "plain": plain.compile_program(COMPOUND_INTEREST),
        "audit (SQLite)": audited.compile_program(COMPOUND_INTEREST),
        "deterministic, cache hit": cached.compile_program(COMPOUND_INTEREST),
    }
    expected = programs["plain"].run().stdout

    def side(program: Any) -> Any:
        def call(_: int) -> object:
            result = program.run()
            assert result.stdout == expected, result
            return result

        return call

    return {name: side(program) for name, program in programs.items()}, [
        plain,
        audited,
        cached,
        audit,
    ]


def run_path(isolation: str, runs: int, workdir: Path) -> dict[str, Any]:
    sides, owned = _sides(isolation, workdir)
    try:
        samples = interleaved(sides, runs, warmup=max(20, runs // 20))
    finally:
        audit = owned[-1]
        for sandbox in owned[:-1]:
            sandbox.close()
        audit.close()
    plain = statistics.median(samples["plain"])
    figures = {name: summarise(values) for name, values in samples.items()}
    for name, values in figures.items():
        values["ratio_to_plain"] = statistics.median(samples[name]) / plain
    return {
        "isolation": isolation,
        "sides": figures,
        "audit_ratio": figures["audit (SQLite)"]["ratio_to_plain"],
        "audit_target": TARGET_AUDIT,
        "audit_written": audit.written_records,
        "audit_dropped": audit.dropped_records,
    }


def log_run_cost(calls: int, workdir: Path) -> dict[str, Any]:
    """The caller-side cost of one AuditLog.log_run (the writer works in the background)."""
    from restricted_exec import Policy
    from restricted_exec.audit import AuditLog
    from restricted_exec.result import ExecutionResult

    result = ExecutionResult(status="ok", stdout="42\n", duration_ms=0.5)
    policy = Policy()
    audit = AuditLog.sqlite(workdir / "log_run.db")
    samples = []
    started_all = time.perf_counter()
    for i in range(calls):
        started = time.perf_counter_ns()
        audit.log_run(
            started_at=time.time(),
            tenant="bench",
            code=COMPOUND_INTEREST,
            code_sha256="0" * 64,
            tagged_inputs={"i": i},
            policy=policy,
            result=result,
        )
        samples.append((time.perf_counter_ns() - started) / 1000)
    audit.flush()
    elapsed = time.perf_counter() - started_all
    audit.close()
    return {
        "calls": calls,
        "median_us": statistics.median(samples),
        "p99_us": percentile(samples, 0.99),
        "records_per_s_including_writer": audit.written_records / elapsed,
        "dropped": audit.dropped_records,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.features_overhead", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs (rough figures)")
    parser.add_argument("--out", type=Path, default=None, help="also write features.json here")
    args = parser.parse_args(argv)
    print_floor()
    runs = {"process": 300, "inline": 1000} if args.quick else {"process": 2000, "inline": 5000}
    print(f"Python {sys.version.split()[0]}; interleaved, warm-up excluded")
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="restricted-exec-bench-") as scratch:
        workdir = Path(scratch)
        for isolation in ("process", "inline"):
            result = run_path(isolation, runs[isolation], workdir)
            report[isolation] = result
            print(f"\nProgram.run, compound interest, {isolation} mode")
            for name, figures in result["sides"].items():
                print(
                    f"  {name:<26} runs={figures['runs']:<5} median={figures['median_ms']:.4f} ms"
                    f" p99={figures['p99_ms']:.4f} ms  x{figures['ratio_to_plain']:.3f}"
                )
            verdict = "met" if result["audit_ratio"] <= TARGET_AUDIT else "MISSED"
            print(
                f"  audit p50 ratio {result['audit_ratio']:.3f}x, target <= {TARGET_AUDIT}x: "
                f"{verdict}; {result['audit_written']} records written, "
                f"{result['audit_dropped']} dropped"
            )
        cost = log_run_cost(5000 if args.quick else 50_000, workdir)
        report["log_run"] = cost
        print(
            f"\nAuditLog.log_run on the caller's thread: median {cost['median_us']:.2f} us, "
            f"p99 {cost['p99_us']:.2f} us over {cost['calls']} calls; writer kept "
            f"{cost['records_per_s_including_writer']:,.0f} records/s, "
            f"{cost['dropped']} dropped"
        )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "features.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
