"""Builtins a program may not use: refused at compile time, and absent at run time.

Each denied builtin is tested twice: written directly (the compiler refuses it,
naming the builtin and the reason) and reached past the compiler through a
conditional binding the program never executes (the builtin must be missing
from the run's builtins, so the call is a NameError).
"""

from __future__ import annotations

import pytest
from rx_sec import assert_no_leak, assert_policy_violation, assert_refused, run

from restricted_exec.child.executor import RunOptions, _RunState, build_globals

DENIED_CALLS = {
    "open": 'open("/etc/passwd").read()',
    "eval": 'eval("1 + 1")',
    "exec": 'exec("x = 1")',
    "compile": 'compile("1", "<x>", "eval")',
    "__import__": '__import__("os")',
    "globals": "globals()",
    "locals": "locals()",
    "vars": "vars()",
    "dir": "dir(json)",
    "input": "input()",
    "breakpoint": "breakpoint()",
    "help": "help(json)",
    "memoryview": 'memoryview(b"abc")',
    "exit": "exit(0)",
    "quit": "quit()",
}

# Builtins whose name the compiler lets a program rebind (so the runtime table
# must not have them): everything above except the reserved/underscore names.
RUNTIME_ABSENT = [name for name in DENIED_CALLS if name not in ("__import__", "breakpoint")]


@pytest.mark.parametrize(
    "source", list(DENIED_CALLS.values()), ids=[f"cannot_call_{n}" for n in DENIED_CALLS]
)
def test_cannot_call_denied_builtin(source: str) -> None:
    name = source.partition("(")[0]
    result = run(f'print("before")\n{source}\n')
    assert_policy_violation(result, match=name)


@pytest.mark.parametrize(
    "name", RUNTIME_ABSENT, ids=[f"{n}_absent_at_run_time" for n in RUNTIME_ABSENT]
)
def test_denied_builtin_is_absent_from_the_runs_builtins(name: str) -> None:
    # `if False: name = None` makes the compiler treat the name as the program's
    # own, so the read reaches the runtime: the builtins table must not have it.
    result = run(f"if False:\n    {name} = None\nprint({name})\n")
    assert_refused(result, match=name, types=frozenset({"NameError", "UnboundLocalError"}))


TABLE_ABSENT = sorted(n for n in DENIED_CALLS if n != "__import__")


def _run_builtins() -> dict[str, object]:
    options = RunOptions(modules=frozenset({"math"}), preload=(), output_bytes=100)
    return build_globals((), {}, options, _NullStream(), _RunState(None))["__builtins__"]


@pytest.mark.parametrize("name", TABLE_ABSENT, ids=TABLE_ABSENT)
def test_run_builtins_table_has_no_denied_builtin(name: str) -> None:
    assert name not in _run_builtins()


def test_run_builtins_import_is_the_guarded_one() -> None:
    import builtins

    guarded = _run_builtins()["__import__"]
    assert guarded is not builtins.__import__
    with pytest.raises(ImportError, match="not an allowed module"):
        guarded("os")


class _NullStream:
    def write(self, text: str) -> int:
        return len(text)


@pytest.mark.parametrize(
    "source",
    [
        'import builtins\nbuiltins.open("x")',
        'from builtins import open\nopen("x")',
        'getattr(json, "__import__")("os")',
        'getattr(print, "__globals__")["__builtins__"]',
        'json.__builtins__["__import__"]("os")',
        "__builtins__",
        '__builtins__["__import__"]("os")',
        '__loader__.load_module("os")',
        "__spec__",
        'getattr(getattr, "__self__")',
        "print.__self__",
        'b = "__imp" + "ort__"\ngetattr(json, b)("os")',
        'import importlib\nimportlib.import_module("os")',
    ],
    ids=[
        "import_builtins",
        "from_builtins_import_open",
        "getattr_module_dunder_import",
        "print_globals",
        "module_builtins_attribute",
        "name_builtins",
        "builtins_subscript",
        "loader",
        "spec",
        "getattr_self",
        "print_self",
        "computed_dunder_import",
        "importlib",
    ],
)
def test_cannot_reach_import_or_builtins_by_any_spelling(source: str) -> None:
    assert_refused(run(source))


def test_cannot_call_type_with_three_arguments() -> None:
    result = run('C = type("C", (object,), {"x": 1})\nprint(C)')
    assert_refused(
        result, match="type() takes exactly one argument", types=frozenset({"TypeError"})
    )


def test_cannot_call_type_with_three_arguments_through_a_name() -> None:
    result = run('t = type\nargs = ("C", (), {})\nprint(t(*args))')
    assert_refused(result, match="type(name, bases, namespace) is not allowed")


def test_cannot_get_the_metaclass_with_type_of_a_class() -> None:
    result = run("print(type(int))")
    assert_refused(result, match="metaclass")


def test_cannot_get_the_metaclass_with_type_of_own_class() -> None:
    result = run("class C:\n    pass\nm = type(C)\nprint(m('D', (), {}))")
    assert_refused(result, match="metaclass")


def test_cannot_use_build_class_directly() -> None:
    assert_policy_violation(run('__build_class__(lambda: None, "C")'))


def test_cannot_use_exception_groups() -> None:
    result = run('ExceptionGroup("x", [ValueError()])')
    assert_policy_violation(result, match="ExceptionGroup")


def test_print_to_a_file_is_refused() -> None:
    result = run("class F:\n    def write(self, s):\n        pass\nprint('x', file=F())")
    assert_refused(result, match="file")


def test_allowed_builtins_still_work() -> None:
    # The denials must not make the language unusable (guards against over-blocking).
    result = run('print(sorted(zip("ba", (2, 1))), tuple(map(abs, [-1])), getattr(1, "real"))')
    assert_no_leak(result)
    assert result.stdout == "[('a', 1), ('b', 2)] (1,) 1\n"
