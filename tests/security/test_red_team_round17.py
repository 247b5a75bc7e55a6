"""Red-team round 17: sessions (restore, definitions) and host functions. Each test fails on
the code as the round found it. Every program runs in process mode."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from restricted_exec import InputError, Policy, Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=2) as made:
        yield made


# -- R17-1: a def the compiler accepts crashes the host's bookkeeping ----------------------------


def test_a_deep_expression_in_a_def_does_not_crash_the_session_run(sandbox: Sandbox) -> None:
    """definitions_of() calls ast.unparse, which recurses ~3 Python frames per level: a
    400-term chain (under the compiler's MAX_NESTING of 500) raised RecursionError on the host
    after the program ran; the run came back crashed, its stdout and value lost, and the def
    missing from the session's definitions (lost on the next restore)."""
    chain = "+".join(["x"] * 400)
    with sandbox.session() as session:
        result = session.run(f"print('hello')\nx = 1\ndef f():\n    return {chain}\nx + 1\n")
        assert result.status == "ok", result.error
        assert result.stdout == "hello\n"
        assert result.value == 2


# -- R17-2: a run that restores a session takes up to ~3x timeout_s -------------------------------


def test_a_run_that_restores_the_session_keeps_its_timeout(sandbox: Sandbox) -> None:
    """The restore is two more child runs, each with the run's whole timeout_s, before the
    run itself: a class body that sleeps 0.9 s (timeout_s=1) made every later run of the
    session return after ~1.9 s (and a costly snapshot of the restore's globals, ~2.6x)."""
    policy = Policy(timeout_s=1.0)
    with sandbox.session(policy=policy) as session:
        assert session.run("import time\nclass A:\n    time.sleep(0.9)\n").status == "ok"
        assert session.run("while True:\n    pass\n").status == "timeout"  # ends the child
        started = time.monotonic()
        result = session.run("while True:\n    pass\n")
        took = time.monotonic() - started
        assert result.state_restored
        assert took < policy.timeout_s + 0.4, f"a run with timeout_s=1 took {took:.2f} s"


# -- R17-3: definitions grow without bound; a restore past max_source_bytes drops them all -----


def test_a_restore_never_drops_definitions_silently(sandbox: Sandbox) -> None:
    """Two cells, each well within max_source_bytes: their definitions together are not, so
    the restore program is refused by the compiler and skipped (sandbox._restore_session,
    ``continue``): nothing is made again, yet ``unrestored`` says everything was."""
    body = "\n".join(f"    v{i} = {i}" for i in range(2000))
    with sandbox.session(policy=Policy(timeout_s=2.0)) as session:
        assert session.run(f"def f():\n{body}\n    return 1\n").status == "ok"
        assert session.run(f"def g():\n{body}\n    return 2\n").status == "ok"
        session.run("while True:\n    pass\n")
        result = session.run("f() + g()")
        assert result.state_restored
        assert result.value == 3 or {"f", "g"} <= set(session.unrestored), (
            result.error,
            session.unrestored,
        )


def test_a_session_dump_stays_loadable(sandbox: Sandbox) -> None:
    """Every run appends its definitions (ast.unparse'd: a raw control character in a string
    becomes a 4-byte escape, so ~4x the source) to a list that is never pruned nor
    deduplicated: the same 60 KB cell run 230 times holds ~55 MB on the host, and the dump
    passes MAX_DUMP_BYTES, so load_session refuses the session's own dump."""
    cell = 'def f():\n    return "' + "\x01" * 60_000 + '"\n'
    with sandbox.session() as session:
        for _ in range(230):
            assert session.run(cell).status == "ok"
        dump = session.dump()
    try:
        sandbox.load_session(dump).close()
    except InputError as problem:
        pytest.fail(f"a session's own dump ({len(dump):,} bytes) does not load: {problem}")


# -- R17-4: the host's restore calls host functions again -----------------------------------------


def test_a_restore_does_not_call_host_functions_again(sandbox: Sandbox) -> None:
    """A default argument, a decorator or a class body that calls a host function is run
    again by every restore (with the run's host calls): a payment the program made once is
    made again, invisibly (the restore's output and values are dropped), each time the
    session's child is replaced."""
    calls: list[int] = []

    def pay(amount: int) -> int:
        calls.append(amount)
        return amount

    with sandbox.session(policy=Policy(timeout_s=1.0), functions={"pay": pay}) as session:
        assert session.run("def f(x=pay(100)):\n    return x\n").status == "ok"
        assert calls == [100]
        session.run("while True:\n    pass\n")
        result = session.run("1")
        assert result.state_restored
        assert calls == [100], f"the restore called pay() again: {calls}"
