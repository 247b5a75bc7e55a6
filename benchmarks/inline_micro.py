"""Inline-mode micro-benchmark required by issue 2 ("Core", last "Done when" bullet).

    python -m benchmarks.inline_micro [--quick] [--profile] [--out benchmarks/results]

(a) the loop-heavy program (100k iterations, ``+=`` on a name and on list items, list
    indexing, ``math.sqrt``) through ``Program.run`` in inline mode vs plain ``exec`` of the
    same source compiled once (target: within 1.3x);
(b) compile + run of a 5-line arithmetic snippet through ``restricted_exec.run`` with a new
    source every call (the compile cache cannot help), and with the same source (cache hit),
    vs RestrictedPython's own ``compile_restricted`` + ``exec`` of a new source every call
    (target: at most 1.5x).

Method: a careful timeit, not pyperf: each measured call is timed alone with
``perf_counter_ns``, the two sides alternate call by call (A B A B ...) so drift on this noisy
shared VM hits both alike, the first calls are discarded as warm-up, and the figure is the
ratio of medians (with p99 and run counts printed). pyperf's worker processes and
pytest-benchmark's calibration would add little here: single-call times are 0.1-30 ms, far
above timer resolution. Timing never fails anything; the script only reports.
``--profile`` runs cProfile over (b) and prints where restricted_exec spends the time.
"""

from __future__ import annotations

import argparse
import builtins
import cProfile
import gc
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.capture import captured_stdout
from benchmarks.core import percentile
from benchmarks.host_floor import print_floor
from benchmarks.workloads import LOOP_HEAVY

SNIPPET = """\
price = 129.99 + {k}
quantity = 7
subtotal = price * quantity
tax = subtotal * 0.0825
print(round(subtotal + tax, 2))
"""

TARGET_LOOP = 1.3
TARGET_COMPILE = 1.5


def interleaved(
    sides: dict[str, Callable[[int], object]], runs: int, warmup: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(warmup + runs):
        for name, call in sides.items():
            started = time.perf_counter_ns()
            call(i)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if i >= warmup:
                samples[name].append(elapsed)
    return samples


def summarise(samples: list[float]) -> dict[str, float]:
    return {
        "runs": len(samples),
        "median_ms": statistics.median(samples),
        "p99_ms": percentile(samples, 0.99),
        "min_ms": min(samples),
    }


def _policy() -> Any:
    from restricted_exec import Policy

    return Policy(isolation="inline", timeout_s=30.0)


def loop_heavy(runs: int) -> dict[str, Any]:
    import restricted_exec

    program = restricted_exec.compile_program(LOOP_HEAVY, policy=_policy())
    expected = program.run().stdout
    code = compile(LOOP_HEAVY, "<program>", "exec")

    def restricted(_: int) -> object:
        result = program.run()
        assert result.stdout == expected, result
        return result

    def plain(_: int) -> object:
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        with captured_stdout() as buffer:
            exec(code, namespace)
        assert buffer.getvalue() == expected
        return namespace

    samples = interleaved({"inline Program.run": restricted, "plain exec": plain}, runs, 3)
    return _compare(samples, "inline Program.run", "plain exec", TARGET_LOOP)


def _restricted_python_runner() -> Callable[[str], str]:
    """RestrictedPython's own recipe: compile_restricted + exec with its safe_globals."""
    import warnings

    from RestrictedPython import PrintCollector, compile_restricted, safe_globals
    from RestrictedPython.Guards import safer_getattr

    warnings.filterwarnings("ignore", message=".*never reads 'printed'", category=SyntaxWarning)
    template = {**safe_globals, "_print_": PrintCollector, "_getattr_": safer_getattr}

    def run(source: str) -> str:
        code = compile_restricted(source, "<snippet>", "exec")
        namespace = dict(template)
        exec(code, namespace)
        return str(namespace["_print"]())

    return run


def compile_and_run(runs: int) -> dict[str, Any]:
    import restricted_exec

    policy = _policy()
    rp_run = _restricted_python_runner()
    same = SNIPPET.format(k=0)
    # Distinct constants per side and call: nothing any cache holds is ever reused.
    expected = {i: f"{round((129.99 + i) * 7 * 1.0825, 2)}\n" for i in range(1, 3 * runs + 40)}

    def re_new(i: int) -> object:
        result = restricted_exec.run(SNIPPET.format(k=2 * i + 1), policy=policy)
        assert result.ok, result
        return result

    def re_cached(i: int) -> object:
        return restricted_exec.run(same, policy=policy)

    def rp_new(i: int) -> object:
        return rp_run(SNIPPET.format(k=2 * i + 2))

    # Spot-check the answers once before timing.
    assert restricted_exec.run(SNIPPET.format(k=1), policy=policy).stdout == expected[1]
    assert rp_run(SNIPPET.format(k=1)).replace("\n", "") == expected[1].strip()
    samples = interleaved(
        {
            "restricted_exec.run (new source)": re_new,
            "restricted_exec.run (same source, cache hit)": re_cached,
            "RestrictedPython compile_restricted + exec": rp_new,
        },
        runs,
        20,
    )
    result = _compare(
        samples,
        "restricted_exec.run (new source)",
        "RestrictedPython compile_restricted + exec",
        TARGET_COMPILE,
    )
    cached = statistics.median(samples["restricted_exec.run (same source, cache hit)"])
    baseline = statistics.median(samples["RestrictedPython compile_restricted + exec"])
    result["cached_ratio"] = cached / baseline
    return result


def _compare(
    samples: dict[str, list[float]], ours: str, theirs: str, target: float
) -> dict[str, Any]:
    ratio = statistics.median(samples[ours]) / statistics.median(samples[theirs])
    pairwise = statistics.median(a / b for a, b in zip(samples[ours], samples[theirs], strict=True))
    return {
        "sides": {name: summarise(values) for name, values in samples.items()},
        "ours": ours,
        "theirs": theirs,
        "ratio": ratio,
        "pairwise_median_ratio": pairwise,
        "target": target,
        "met": ratio <= target,
    }


def profile_compile(runs: int, top: int = 25) -> str:
    """cProfile of restricted_exec.run on new sources: where the time goes, by function."""
    import io

    import restricted_exec

    policy = _policy()
    for i in range(50):
        restricted_exec.run(SNIPPET.format(k=-i - 1), policy=policy)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(runs):
        restricted_exec.run(SNIPPET.format(k=10_000 + i), policy=policy)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    total = stats.total_tt  # type: ignore[attr-defined]
    lines = [f"cProfile over {runs} restricted_exec.run calls, total {total * 1000:.0f} ms"]
    lines.append("cumulative share, by function (file:function):")
    entries = []
    for (file, line, name), (_, _, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        entries.append((cumtime, tottime, f"{_short(file)}:{line}:{name}"))
    for cumtime, tottime, label in sorted(entries, reverse=True)[:top]:
        lines.append(
            f"  {100 * cumtime / total:5.1f}% cum  {100 * tottime / total:5.1f}% self  {label}"
        )
    lines.append("self time by file:")
    by_file: dict[str, float] = {}
    for (file, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_file[_short(file)] = by_file.get(_short(file), 0.0) + tottime
    for file, tottime in sorted(by_file.items(), key=lambda item: -item[1])[:15]:
        lines.append(f"  {100 * tottime / total:5.1f}%  {file}")
    return "\n".join(lines)


def _short(file: str) -> str:
    for marker in ("/restricted_exec/", "/RestrictedPython/", "/pydantic/", "/lib/python3"):
        if marker in file:
            return marker.strip("/") + "/" + file.split(marker, 1)[1]
    return file


def _print_result(title: str, result: dict[str, Any]) -> None:
    print(f"\n{title}")
    for name, figures in result["sides"].items():
        print(
            f"  {name:<46} runs={figures['runs']:<5} median={figures['median_ms']:.4f} ms "
            f"p99={figures['p99_ms']:.4f} ms min={figures['min_ms']:.4f} ms"
        )
    verdict = "met" if result["met"] else "MISSED"
    pairwise = result["pairwise_median_ratio"]
    print(
        f"  ratio of medians {result['ratio']:.3f}x (pairwise median {pairwise:.3f}x); "
        f"target <= {result['target']}x: {verdict}"
    )
    if "cached_ratio" in result:
        print(
            f"  same source (compile cache hit) vs RestrictedPython: {result['cached_ratio']:.3f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.inline_micro", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs (rough figures)")
    parser.add_argument("--profile", action="store_true", help="cProfile the compile+run path")
    parser.add_argument("--out", type=Path, default=None, help="also write inline_micro.json here")
    args = parser.parse_args(argv)
    print_floor()
    loop_runs, compile_runs = (15, 300) if args.quick else (60, 3000)
    gc.collect()
    print(f"Python {sys.version.split()[0]} on {sys.platform}; interleaved, warm-up excluded")
    loop = loop_heavy(loop_runs)
    _print_result("(a) loop-heavy program: inline Program.run vs plain exec (compiled once)", loop)
    snippet = compile_and_run(compile_runs)
    _print_result("(b) 5-line snippet, compile + run, new source every call", snippet)
    report: dict[str, Any] = {"loop_heavy": loop, "compile_and_run": snippet}
    if args.profile:
        text = profile_compile(compile_runs // 2)
        print("\n" + text)
        report["profile"] = text
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "inline_micro.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
