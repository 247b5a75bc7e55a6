"""Writing results: JSON (raw samples + machine info), a markdown report, PNG charts."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.host_floor import floor_line

PACKAGES = (
    "restricted_exec",
    "RestrictedPython",
    "pydantic",
    "wrapt",
    "smolagents",
    "pydantic-monty",
    "asteval",
    "matplotlib",
    "tqdm",
)


def machine_info() -> dict[str, Any]:
    from benchmarks.backends._subprocess import python3

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "subprocess_python3": python3(),
        "packages": versions,
        "git_commit": commit,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")


def _ms(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or reference is None or reference <= 0:
        return "–"
    ratio = value / reference
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:,.0f}x"


def _median(cell: dict[str, Any]) -> float | None:
    summary = cell.get("summary")
    return float(summary["median_ms"]) if cell.get("status") == "ok" and summary else None


def _mark(cell: dict[str, Any]) -> str:
    status = cell.get("status", "?")
    return {
        "wrong": "✗ wrong",
        "failed": "✗ failed",
        "n/a": "n/a",
        "unavailable": "unavailable",
    }.get(status, status)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(data: dict[str, Any]) -> str:
    machine = data["machine"]
    backends: list[dict[str, Any]] = data["backends"]
    names = {b["key"]: b["name"] for b in backends}
    ref_key = data["ratio_reference"]
    lines = [
        "# restricted_exec benchmark results",
        "",
        f"Command: `{data['command']}` ({'quick' if data['settings']['quick'] else 'full'} run, "
        f"{data['elapsed_s']:.0f} s, {data['started']}).",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['kernel']}, "
        f"Python {machine['python']}; subprocess recipes run `{machine['subprocess_python3']}`. "
        "Packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v) + ".",
        "",
        *(
            [floor_line(data["host_floor"]).capitalize() + " (measured in this run).", ""]
            if "host_floor" in data
            else []
        ),
        "Method: warm-up runs excluded; backends interleaved (A B C A B C ...) within each "
        "workload; every run's stdout (and exception type) is compared with CPython's, and a "
        "wrong or failed answer replaces the time. Times are wall-clock milliseconds until the "
        "caller holds the result; p99 is nearest-rank (with few runs it is the maximum). "
        f"Ratios: `x P.run` is against **{names.get(ref_key, ref_key)}** and `x exec` against "
        "**plain exec** (compiled once: the no-safety floor), same workload, same run.",
        "",
        "## Overview: median latency (ms)",
        "",
    ]
    workloads: list[dict[str, Any]] = data["workloads"]
    header = "| Backend | " + " | ".join(w["name"] for w in workloads) + " |"
    lines += [header, "|" + "---|" * (len(workloads) + 1)]
    for backend in backends:
        row = [backend["name"]]
        for workload in workloads:
            cell = workload["cells"][backend["key"]]
            median = _median(cell)
            row.append(_ms(median) if median is not None else _mark(cell))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for workload in workloads:
        cells = workload["cells"]
        ref = _median(cells.get(ref_key, {}))
        floor = _median(cells.get("plain_exec", {}))
        lines += [
            f"## {workload['title']}",
            "",
            f"Limits: timeout {workload['timeout_s']:g} s, memory {workload['memory_mb']} MB.",
            "",
            "| Backend | Result | Median ms | p99 ms | Runs | x P.run | x exec |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for backend in backends:
            cell = cells[backend["key"]]
            median = _median(cell)
            if median is None:
                reason = _escape(cell.get("reason", ""))[:140]
                lines.append(f"| {backend['name']} | {_mark(cell)}: {reason} | | | | | |")
                continue
            summary = cell["summary"]
            result = "ok"
            if "host_survived" in cell:
                result = f"ok, host survived (+{cell['host_peak_rss_growth_mb']} MB max RSS)"
            lines.append(
                f"| {backend['name']} | {result} | {_ms(median)} | {_ms(summary['p99_ms'])} | "
                f"{summary['runs']} | {_ratio(median, ref)} | {_ratio(median, floor)} |"
            )
        lines.append("")
    throughput = data.get("throughput")
    if throughput:
        levels = [str(c) for c in data["settings"]["concurrency"]]
        lines += [
            f"## Throughput: correct runs per second ({data['throughput_workload']})",
            "",
            "Each cell runs for "
            f"{data['settings']['throughput_s']:g} s. asyncio callers use the backend's "
            "`run_async` if it has one, else `asyncio.to_thread` (default executor: "
            f"{min(32, (os.cpu_count() or 1) + 4)} threads here).",
            "",
            "| Backend | "
            + " | ".join(f"threads x{c}" for c in levels)
            + " | "
            + " | ".join(f"asyncio x{c}" for c in levels)
            + " |",
            "|---|" + "---:|" * (2 * len(levels)),
        ]
        for backend in backends:
            entry = throughput.get(backend["key"], {})
            if entry.get("status") != "ok" and not entry.get("threads"):
                reason = _escape(entry.get("reason", ""))[:100]
                lines.append(
                    f"| {backend['name']} | {_mark(entry)}: {reason} |"
                    + " |" * (2 * len(levels) - 1)
                )
                continue
            cells_text = []
            for mode in ("threads", "asyncio"):
                for level in levels:
                    figure = entry.get(mode, {}).get(level)
                    cells_text.append(f"{figure['per_s']:,.0f}" if figure else "–")
            lines.append(f"| {backend['name']} | " + " | ".join(cells_text) + " |")
        lines.append("")
    corpus = data.get("corpus")
    if corpus:
        lines += [
            "## Corpus: programs whose output is identical to CPython's",
            "",
            f"{data['corpus_info']['programs']} programs ({data['corpus_info']['origin']}), "
            f"{data['corpus_info']['dropped_nondeterministic']} dropped because CPython's own "
            "output differs between two runs. Same stdout and same ending (success, or the same "
            "exception type) counts as identical.",
            "",
            "| Backend | Identical | Fraction | Most common failure |",
            "|---|---:|---:|---|",
        ]
        for backend in backends:
            entry = corpus.get(backend["key"], {})
            if entry.get("status") != "ok":
                lines.append(f"| {backend['name']} | {_mark(entry)} | | |")
                continue
            failures = list(entry["failures"].values())
            common = max(set(failures), key=failures.count) if failures else ""
            lines.append(
                f"| {backend['name']} | {entry['identical']}/{entry['total']} | "
                f"{100 * entry['fraction']:.1f}% | {_escape(common)[:90]} |"
            )
        lines.append("")
    memory = data.get("memory")
    if memory:
        lines += [
            "## Peak memory: host plus every helper process (PSS, MB)",
            "",
            "Each backend in a fresh interpreter: sequential runs of a small mix, then 8 caller "
            "threads, sampled every 10 ms. PSS splits shared pages between processes, so the "
            "sum is not inflated by forked children.",
            "",
            "| Backend | Host idle | Host peak | Helpers peak | Total peak | Helper procs |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for backend in backends:
            entry = memory.get(backend["key"], {})
            if "peak_total_pss_kb" not in entry:
                reason = entry.get("unavailable") or entry.get("failed") or "?"
                lines.append(f"| {backend['name']} | {_escape(reason)[:80]} | | | | |")
                continue
            lines.append(
                f"| {backend['name']} | {entry['baseline_host_kb'] / 1024:.1f} | "
                f"{entry['peak_host_pss_kb'] / 1024:.1f} | "
                f"{entry['peak_helpers_pss_kb'] / 1024:.1f} | "
                f"{entry['peak_total_pss_kb'] / 1024:.1f} | {entry['peak_helper_count']} |"
            )
        lines.append("")
    lines += ["## Backends", "", "| Backend | Kind | Limits | Notes |", "|---|---|---|---|"]
    for backend in backends:
        limits = ", ".join(sorted(backend["limits"])) or "none"
        notes = backend["unavailable"] or backend["notes"]
        lines.append(f"| {backend['name']} | {backend['kind']} | {limits} | {_escape(notes)} |")
    lines.append("")
    return "\n".join(lines)


def charts(data: dict[str, Any], out: Path) -> list[Path]:
    """latency.png (one panel per workload, log scale) and throughput.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    backends: list[dict[str, Any]] = data["backends"]
    workloads: list[dict[str, Any]] = data["workloads"]
    colors = plt.get_cmap("tab20").colors
    color_of = {b["key"]: colors[i % len(colors)] for i, b in enumerate(backends)}
    columns = 3
    rows = math.ceil(len(workloads) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(19, 4.2 * rows), squeeze=False)
    for index, workload in enumerate(workloads):
        axis = axes[index // columns][index % columns]
        labels: list[str] = []
        lows: list[float] = []
        highs: list[float] = []
        for position, backend in enumerate(reversed(backends)):
            cell = workload["cells"][backend["key"]]
            labels.append(backend["name"])
            median = _median(cell)
            if median is None:
                axis.text(
                    0.02,
                    position,
                    _mark(cell),
                    transform=axis.get_yaxis_transform(),
                    va="center",
                    fontsize=8,
                    color="firebrick" if cell.get("status") in ("wrong", "failed") else "gray",
                )
                continue
            p99 = cell["summary"]["p99_ms"]
            axis.barh(position, median, color=color_of[backend["key"]])
            axis.errorbar(
                median, position, xerr=[[0], [max(p99 - median, 0)]], color="black", capsize=2
            )
            axis.text(max(p99, median) * 1.12, position, _ms(median), va="center", fontsize=7)
            lows.append(median)
            highs.append(max(p99, median))
        axis.set_xscale("log")
        axis.set_yticks(range(len(labels)))
        axis.set_yticklabels(labels, fontsize=8)
        axis.set_title(workload["title"], fontsize=10)
        axis.set_xlabel("ms (median bar, p99 whisker; log)", fontsize=8)
        axis.grid(axis="x", which="major", alpha=0.3)
        if lows:
            axis.set_xlim(min(lows) / 4, max(highs) * 6)
    for index in range(len(workloads), rows * columns):
        axes[index // columns][index % columns].axis("off")
    machine = data["machine"]
    figure.suptitle(
        f"Latency per workload — {machine['cpu_model']}, {machine['cores']} cores, "
        f"Python {machine['python']}",
        fontsize=12,
    )
    figure.tight_layout()
    path = out / "latency.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    written.append(path)

    throughput = data.get("throughput")
    if throughput:
        levels = list(data["settings"]["concurrency"])
        figure, axes_row = plt.subplots(1, 2, figsize=(15, 6), sharey=True)
        for axis, mode in zip(axes_row, ("threads", "asyncio"), strict=True):
            for backend in backends:
                entry = throughput.get(backend["key"], {})
                points = [
                    (level, entry[mode][str(level)]["per_s"])
                    for level in levels
                    if entry.get(mode, {}).get(str(level))
                ]
                if not points:
                    continue
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, marker="o", label=backend["name"], color=color_of[backend["key"]])
            axis.set_xscale("log", base=2)
            axis.set_xticks(levels)
            axis.set_xticklabels([str(level) for level in levels])
            axis.set_yscale("log")
            axis.set_xlabel(f"concurrent callers ({mode})")
            axis.set_title(f"Throughput, {data['throughput_workload']} ({mode})")
            axis.grid(alpha=0.3, which="both")
        axes_row[0].set_ylabel("correct runs per second (log)")
        axes_row[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        figure.tight_layout()
        path = out / "throughput.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
