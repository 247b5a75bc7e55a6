"""Output reaches the caller while the program runs, and none of it is lost when the run is
killed: ``on_output`` on every run API, ``Sandbox.stream``, and ``result.stdout`` of runs that
ended in a timeout or at the memory limit. Each expected stdout is what CPython prints for the
same program up to the point where the run was stopped."""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

import restricted_exec
from restricted_exec import ExecutionResult, Policy, Sandbox

MODES = ("process", "inline")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=1) as made:
        yield made


def cpython_stdout(source: str) -> str:
    """What CPython prints for ``source`` (a program that ends)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(textwrap.dedent(source), "<cpython>", "exec"), {})
    return printed.getvalue()


class Chunks:
    """An on_output callback that keeps each chunk and when it came."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.items: list[tuple[float, str]] = []
        self.threads: set[int] = set()

    def __call__(self, text: str) -> None:
        self.items.append((time.monotonic() - self.started, text))
        self.threads.add(threading.get_ident())

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.items)


# -- no output lost on a kill ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_output_printed_before_a_timeout_in_a_python_loop_is_in_stdout(
    sandbox: Sandbox, mode: str
) -> None:
    printed = "for i in range(5):\n    print('line', i)\n"
    result = sandbox.run(
        printed + "while True:\n    pass\n", policy=Policy(isolation=mode, timeout_s=0.5)
    )
    assert result.status == "timeout", result
    assert result.stdout == cpython_stdout(printed)


def test_output_printed_before_a_timeout_in_a_sleep_is_in_stdout(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "import time\nprint('before the sleep')\ntime.sleep(30)\n",
        policy=Policy(timeout_s=0.5),
    )
    assert result.status == "timeout"
    assert result.stdout == "before the sleep\n"


def test_output_printed_just_before_the_watchdog_fires_is_in_stdout(sandbox: Sandbox) -> None:
    # Printing until the very end: what the child had not flushed yet when the deadline came
    # arrives in answer to the host's flush request, so the output is a whole prefix of
    # CPython's, cut only at a line the program had not finished printing.
    result = sandbox.run(
        "i = 0\nwhile True:\n    print(i)\n    i += 1\n",
        policy=Policy(timeout_s=0.5, output_bytes=50_000_000),
    )
    assert result.status == "timeout"
    lines = result.stdout.split("\n")
    complete = lines[:-1]
    assert len(complete) > 1000
    assert complete == [str(i) for i in range(len(complete))]
    assert str(len(complete)).startswith(lines[-1])


def test_output_printed_before_a_cpu_timeout_is_in_stdout(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "print('working')\nwhile True:\n    pass\n",
        policy=Policy(timeout_s=10, cpu_time_s=1),
    )
    assert result.status == "timeout" and result.timeout_kind == "cpu", result
    assert result.stdout == "working\n"


def test_output_printed_before_the_memory_limit_is_in_stdout(sandbox: Sandbox) -> None:
    source = "print('allocating')\nblocks = []\nwhile True:\n    blocks.append(bytearray(10**6))\n"
    result = sandbox.run(source, policy=Policy(memory_mb=64, timeout_s=10))
    assert result.status == "memory_limit", result
    assert result.stdout == "allocating\n"


def test_output_printed_before_a_long_native_call_is_in_stdout(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "print('start')\nx = 7 ** (10 ** 9)\n", policy=Policy(timeout_s=0.5, cpu_time_s=5)
    )
    assert result.status == "timeout"
    assert result.stdout == "start\n"


def test_output_of_a_timed_out_program_keeps_its_output_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "print('x' * 60)\nwhile True:\n    pass\n",
        policy=Policy(timeout_s=0.5, output_bytes=100),
    )
    assert result.status == "timeout"
    assert result.stdout == "x" * 60 + "\n"


# -- streaming --------------------------------------------------------------------------------

_PACED = """
import time
for i in range(3):
    print('tick', i)
    time.sleep(0.3)
'done'
"""


@pytest.mark.parametrize("mode", MODES)
def test_on_output_gets_each_print_while_the_program_still_runs(
    sandbox: Sandbox, mode: str
) -> None:
    chunks = Chunks()
    result = sandbox.run(_PACED, policy=Policy(isolation=mode), on_output=chunks)
    assert result.ok and result.value == "done", result
    assert chunks.text == result.stdout == "tick 0\ntick 1\ntick 2\n"
    # The first tick reached the caller before the program slept its way to the second.
    first_arrival = next(when for when, text in chunks.items if "tick 0" in text)
    second_arrival = next(when for when, text in chunks.items if "tick 1" in text)
    assert first_arrival < second_arrival - 0.1


@pytest.mark.parametrize("mode", MODES)
def test_on_output_chunks_join_to_stdout_in_order_for_a_print_heavy_program(
    sandbox: Sandbox, mode: str
) -> None:
    source = "for i in range(20000):\n    print(i, 'x' * (i % 7))\n"
    chunks = Chunks()
    result = sandbox.run(
        source, policy=Policy(isolation=mode, output_bytes=10**6), on_output=chunks
    )
    assert result.ok, result.error
    assert result.stdout == cpython_stdout(source)
    assert chunks.text == result.stdout


@pytest.mark.parametrize("mode", MODES)
def test_streamed_output_is_capped_at_output_bytes(sandbox: Sandbox, mode: str) -> None:
    chunks = Chunks()
    result = sandbox.run(
        "import time\nfor i in range(100):\n    print('y' * 9)\n    time.sleep(0.005)\n",
        policy=Policy(isolation=mode, output_bytes=205),
        on_output=chunks,
    )
    assert result.status == "output_limit"
    assert result.stdout_truncated
    assert len(result.stdout.encode()) == 205
    assert result.stdout == ("y" * 9 + "\n") * 20 + "y" * 5
    assert chunks.text == result.stdout


@pytest.mark.parametrize("mode", MODES)
def test_streamed_output_of_a_timed_out_run_reaches_on_output(sandbox: Sandbox, mode: str) -> None:
    chunks = Chunks()
    result = sandbox.run(
        "print('one')\nwhile True:\n    pass\n",
        policy=Policy(isolation=mode, timeout_s=0.5),
        on_output=chunks,
    )
    assert result.status == "timeout"
    assert chunks.text == result.stdout == "one\n"


@pytest.mark.parametrize("mode", MODES)
def test_an_on_output_that_raises_stops_the_run_with_a_clear_error(
    sandbox: Sandbox, mode: str
) -> None:
    def refuse(text: str) -> None:
        raise ConnectionError("the client went away")

    started = time.monotonic()
    result = sandbox.run(
        "while True:\n    print('spam')\n",
        policy=Policy(isolation=mode, timeout_s=20),
        on_output=refuse,
    )
    assert result.status == "crashed", result
    assert result.error is not None and result.error.type == "OutputCallbackError"
    assert "ConnectionError" in result.error.message
    assert "went away" not in result.error.message  # the caller's own message stays theirs
    assert time.monotonic() - started < 10  # stopped, not run to its timeout


def test_process_mode_calls_on_output_in_the_calling_thread(sandbox: Sandbox) -> None:
    chunks = Chunks()
    sandbox.run(_PACED, on_output=chunks)
    assert chunks.threads == {threading.get_ident()}


def test_on_output_gets_the_whole_stdout_of_a_cached_result() -> None:
    with Sandbox(prefork=1) as cached:
        policy = Policy(deterministic=True)
        first = cached.run("print('hello')", policy=policy)
        chunks = Chunks()
        again = cached.run("print('hello')", policy=policy, on_output=chunks)
    assert again.cache_hit and not first.cache_hit
    assert chunks.text == "hello\n"


def test_program_run_and_module_run_take_on_output(sandbox: Sandbox) -> None:
    chunks = Chunks()
    program = sandbox.compile_program("print(n * 2)")
    assert program.run(inputs={"n": 21}, on_output=chunks).ok
    module_chunks = Chunks()
    assert restricted_exec.run("print('module')", on_output=module_chunks).ok
    assert (chunks.text, module_chunks.text) == ("42\n", "module\n")


def test_run_async_takes_on_output(sandbox: Sandbox) -> None:
    chunks = Chunks()
    result = asyncio.run(sandbox.run_async("print('async')", on_output=chunks))
    assert result.ok and chunks.text == "async\n"


def test_stream_yields_output_as_it_comes_then_the_result(sandbox: Sandbox) -> None:
    async def collect() -> list[tuple[float, str | ExecutionResult]]:
        started = time.monotonic()
        return [(time.monotonic() - started, item) async for item in sandbox.stream(_PACED)]

    items = asyncio.run(collect())
    *chunks, (ended, result) = items
    assert isinstance(result, ExecutionResult) and result.value == "done"
    assert all(isinstance(chunk, str) for _, chunk in chunks)
    assert "".join(str(chunk) for _, chunk in chunks) == result.stdout
    assert chunks[0][0] < ended - 0.3  # the first chunk came long before the end


def test_stream_raises_what_the_run_raises(sandbox: Sandbox) -> None:
    async def collect() -> None:
        async for _ in sandbox.stream("1", inputs={"not an identifier": 1}):
            pass

    with pytest.raises(restricted_exec.InputError):
        asyncio.run(collect())


def test_the_cli_prints_output_while_the_program_still_runs() -> None:
    source = "import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second')\n"
    cli = subprocess.Popen(
        [sys.executable, "-m", "restricted_exec.cli", "run", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert cli.stdin is not None and cli.stdout is not None
    cli.stdin.write(source)
    cli.stdin.close()
    first = cli.stdout.readline()
    still_running = cli.poll() is None
    rest = cli.stdout.read()
    assert cli.wait(timeout=60) == 0
    assert (first, rest) == ("first\n", "second\n")
    assert still_running
