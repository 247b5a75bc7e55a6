"""Red-team round 18: session restore after a lost child, and crafted dumps. Each test fails on
the code as the round found it. Every program runs in process mode."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from restricted_exec import Policy, Sandbox

LOSE_THE_CHILD = "while True:\n    pass\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=2) as made:
        yield made


# -- R18-1: restore_programs splits a definition with str.splitlines ------------------------------


def test_a_restore_runs_no_code_hidden_in_a_comment(sandbox: Sandbox) -> None:
    """SessionState.restore_programs re-indents each definition with str.splitlines(), which
    also breaks at U+2028, U+2029, U+0085, form feed, vertical tab and \\x1c-\\x1e: characters
    Python's tokenizer keeps inside a comment or a string. Text after one in a comment becomes
    code of the restore program: here a global the program never bound, and a second f."""
    cell = "def f():\n    a = 1  # \u2028injected = 'never ran'\u2028def f():\n    return a\n"
    with sandbox.session(policy=Policy(timeout_s=1.0)) as session:
        assert session.run(cell + "f()").value == 1
        assert session.run("injected").status == "error"  # the program never bound it
        assert session.run(LOSE_THE_CHILD).status == "timeout"
        result = session.run("injected")
        assert result.state_restored
        assert result.status == "error", f"the restore bound injected = {result.value!r}"


def test_a_restore_does_not_change_a_class_body_through_a_comment(sandbox: Sandbox) -> None:
    cell = "class C:\n    x = 1  # note\u2028    x = 2\n    y = 0\n"
    with sandbox.session(policy=Policy(timeout_s=1.0)) as session:
        assert session.run(cell + "C.x").value == 1
        assert session.run(LOSE_THE_CHILD).status == "timeout"
        result = session.run("C.x")
        assert result.state_restored
        assert result.value == 1 or "C" in session.unrestored, result.value


# -- R18-2: re-indenting a definition changes its multi-line strings, silently ----------------


def test_a_restored_function_returns_its_multi_line_string_unchanged(sandbox: Sandbox) -> None:
    """Each line of a definition gets four spaces for the restore's try: block, the lines
    inside a triple-quoted string too: f() returned 'a\\n    b' after the restore, with
    nothing in unrestored."""
    with sandbox.session(policy=Policy(timeout_s=1.0)) as session:
        assert session.run('def f():\n    return """a\nb"""\nf()').value == "a\nb"
        assert session.run(LOSE_THE_CHILD).status == "timeout"
        result = session.run("f()")
        assert result.state_restored
        assert result.value == "a\nb" or "f" in session.unrestored, repr(result.value)


# -- R18-3: keeping a run's definitions costs the host time quadratic in their number --------


def test_keeping_many_definitions_stays_within_the_runs_timeout(sandbox: Sandbox) -> None:
    """After the child's run, on the host and under no deadline: definitions_of() calls
    ast.get_source_segment per node (each call re-splits the whole source, in Python), and
    _merged() compares every new definition with every kept one through defined_names, whose
    lru_cache (1024) thrashes past 1024 definitions, so each comparison is an ast.parse.
    Cells of 1,000 one-line defs (the per-program limit) with timeout_s=1 took 2.3 s, 10.7 s,
    17.9 s, 22.8 s: the cost grows with the session (up to 4 MiB of definitions), and holds
    the GIL of the caller's process."""
    policy = Policy(timeout_s=1.0)
    with sandbox.session(policy=policy) as session:
        for cell in range(2):
            source = "".join(f"def f{cell}_{i}(): pass\n" for i in range(1000))
            started = time.monotonic()
            result = session.run(source)
            took = time.monotonic() - started
            assert result.status == "ok", result.error
            assert took < 3 * policy.timeout_s, f"cell {cell} took {took:.1f} s (timeout_s=1)"


# -- R18-4: a restore compiles its definitions on the host outside the run's deadline ------------


def test_a_restore_after_a_lost_child_keeps_the_runs_timeout(sandbox: Sandbox) -> None:
    """_restore_programs compiles every definition alone, then every batch again, before the
    deadline is first looked at: 60 cells of one 60 KB def each (3.6 MB, within the 4 MiB
    kept) made every run after a timeout take 10-13 s with timeout_s=1 (and time out, so the
    next run pays it again)."""
    policy = Policy(timeout_s=1.0)
    with sandbox.session(policy=policy) as session:
        for k in range(60):
            body = "".join(f"    a{i} = {i} + {k}\n" for i in range(3000))
            assert session.run(f"def f{k}():\n{body}    return 1\n").status == "ok"
        assert session.run(LOSE_THE_CHILD).status == "timeout"
        started = time.monotonic()
        session.run("f0()")
        took = time.monotonic() - started
        assert took < 3 * policy.timeout_s, f"a run with timeout_s=1 took {took:.1f} s"


def test_a_crafted_dumps_first_run_keeps_the_runs_timeout(sandbox: Sandbox) -> None:
    """The same through load_session, with no 4 MiB cap at all (a dump may hold up to 64 MiB
    of definitions, each within max_source_bytes): a 3.3 MB dump of 50 such definitions made
    each run take ~7.5 s with timeout_s=1; at 64 MiB, minutes per run."""
    definitions = []
    for k in range(50):
        body = "".join(f"    a{i} = {i} + {k}\n" for i in range(3000))
        definitions.append(f"def f{k}():\n{body}    return 1")
    dump = json.dumps(
        {
            "format": "restricted_exec session",
            "version": 1,
            "definitions": definitions,
            "data": {},
            "others": [],
        }
    ).encode()
    policy = Policy(timeout_s=1.0)
    with sandbox.load_session(dump, policy=policy) as session:
        started = time.monotonic()
        session.run("1")
        took = time.monotonic() - started
        assert took < 3 * policy.timeout_s, f"a run with timeout_s=1 took {took:.1f} s"
