"""run(), compile_program(), Program and Sandbox as a caller uses them."""

from __future__ import annotations

import asyncio
import math

import pytest

import restricted_exec
from restricted_exec import InputError, Policy, Sandbox, SandboxClosedError

ARTICLE = (
    "P = 3000 * 12; r = 0.05; t = 5; A = P * ((1 + r)**t - 1) / r;\n"
    'print(f"五年后总额约为: {A:.2f} 元")'
)


def test_article_example_prints_the_expected_total() -> None:
    result = restricted_exec.run(ARTICLE)
    assert result.ok, result.error
    assert result.stdout == "五年后总额约为: 198922.73 元\n"


def test_program_compiles_once_and_runs_with_different_inputs(inline_sandbox: Sandbox) -> None:
    program = inline_sandbox.compile_program("principal * (1 + rate) ** years")
    assert program.compiled
    for rate in (0.01, 0.05, 0.1):
        result = program.run(inputs={"principal": 1000, "rate": rate, "years": 3})
        assert result.value == 1000 * (1 + rate) ** 3
    assert len(program.code_sha256) == 64


def test_compile_cache_returns_the_same_compiled_program(inline_sandbox: Sandbox) -> None:
    first = inline_sandbox.compile_program("x = 1")
    second = inline_sandbox.compile_program("x = 1")
    assert first._compiled.outcome is second._compiled.outcome


def test_a_different_policy_compiles_separately(inline_sandbox: Sandbox) -> None:
    narrow = Policy(isolation="inline", modules={"math", "datetime", "json"})
    assert inline_sandbox.run("import statistics").ok
    assert inline_sandbox.run("import statistics", policy=narrow).status == "policy_violation"


def test_inputs_are_copies_the_program_cannot_mutate(inline_sandbox: Sandbox) -> None:
    data = [1, 2, 3]
    result = inline_sandbox.run("data.append(4)\nlen(data)", inputs={"data": data})
    assert result.value == 4
    assert data == [1, 2, 3]


class _Reducer:
    def __reduce__(self) -> tuple[object, ...]:
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "value",
    [math, print, _Reducer(), object(), lambda: 1, {"nested": [math]}],
    ids=["module", "function", "reduce-object", "object", "lambda", "nested-module"],
)
def test_inputs_that_are_not_plain_data_are_refused_before_the_run(value: object) -> None:
    with pytest.raises(InputError):
        restricted_exec.run("print('ran')", inputs={"x": value})


@pytest.mark.parametrize("name", ["_getattr_", "__builtins__", "1x", "class", "a-b"])
def test_input_names_must_be_public_identifiers(name: str) -> None:
    with pytest.raises(InputError):
        restricted_exec.run("1", inputs={name: 1})


def test_syntax_errors_come_back_as_results_with_line_and_column() -> None:
    result = restricted_exec.run("x = 1\ny = (\n")
    assert result.status == "syntax_error"
    assert result.error is not None and result.error.line is not None
    with pytest.raises(restricted_exec.ProgramSyntaxError):
        result.raise_for_status()


def test_every_violation_is_reported_together() -> None:
    result = restricted_exec.run("import os\nx = ().__class__\nopen('f')\n")
    assert result.status == "policy_violation"
    assert result.error is not None
    lines = sorted(v.line for v in result.error.violations if v.line)
    assert lines == [1, 2, 3]
    assert all(v.column for v in result.error.violations)


def test_program_errors_carry_type_message_line_and_user_only_traceback() -> None:
    result = restricted_exec.run("def f(x):\n    return 1 / x\n\nf(0)\n")
    assert result.status == "error"
    assert result.error is not None
    assert (result.error.type, result.error.message, result.error.line) == (
        "ZeroDivisionError",
        "division by zero",
        2,
    )
    assert 'File "<program>", line 4, in <module>' in result.error.traceback
    assert "restricted_exec" not in result.error.traceback
    assert "site-packages" not in result.error.traceback


def test_final_expression_value_is_returned_like_a_repl() -> None:
    assert restricted_exec.run("x = 2\nx * 21").value == 42
    assert restricted_exec.run("x = 2").value is None
    assert restricted_exec.run("(1, 2)").value == [1, 2]


def test_a_final_value_that_is_not_data_is_a_clear_error() -> None:
    result = restricted_exec.run("class A:\n    pass\nA()")
    assert result.status == "error"
    assert result.error is not None and result.error.kind == "value"
    assert "'A'" in result.error.message


def test_closed_sandbox_refuses_runs() -> None:
    sandbox = Sandbox(Policy(isolation="inline"))
    program = sandbox.compile_program("1")
    sandbox.close()
    sandbox.close()
    with pytest.raises(SandboxClosedError):
        sandbox.run("1")
    with pytest.raises(SandboxClosedError):
        program.run()


def test_run_async_gives_the_same_result(inline_sandbox: Sandbox) -> None:
    async def main() -> list[restricted_exec.ExecutionResult]:
        return await asyncio.gather(
            *(inline_sandbox.run_async(f"print({i} * 2)") for i in range(5))
        )

    results = asyncio.run(main())
    assert [r.stdout for r in results] == [f"{i * 2}\n" for i in range(5)]


def test_output_is_capped_and_flagged_as_truncated() -> None:
    result = restricted_exec.run(
        "for i in range(1000):\n    print('x' * 10)", policy=Policy(output_bytes=100)
    )
    assert result.status == "output_limit"
    assert result.stdout_truncated
    assert len(result.stdout.encode()) == 100
    assert result.stdout == ("x" * 10 + "\n") * 9 + "x"


def test_output_limit_cannot_be_swallowed_by_the_program() -> None:
    result = restricted_exec.run(
        "for i in range(100):\n"
        "    try:\n        print('y' * 50)\n    except BaseException:\n        pass\n"
        "print('after')",
        policy=Policy(output_bytes=120),
    )
    assert result.status == "output_limit"
    assert "after" not in result.stdout


def test_a_program_whose_policy_changes_runs_under_the_new_policy_in_its_child() -> None:
    # The program part a child reads carries the run options (output_bytes among them); it
    # was once encoded on the first run and reused after program.policy changed, so the
    # child still allowed the old output and the host took its honest reply for a forgery.
    with restricted_exec.Sandbox(prefork=1) as sandbox:
        program = sandbox.compile_program("print('x' * 5_000)")
        assert program.run().status == "ok"
        program.policy = program.policy.replace(output_bytes=100)
        result = program.run()
    assert result.status == "output_limit", result.error
    assert result.stdout == "x" * 100


@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_a_program_whose_policy_changes_is_compiled_for_the_new_policy(isolation: str) -> None:
    # A compile outcome holds for the modules it was checked against: reassigning the policy
    # recompiles, in both modes alike, instead of running code the new policy never checked.
    narrow = restricted_exec.Policy(isolation=isolation, modules={"json"}, preload=("json",))  # type: ignore[arg-type]
    wide = restricted_exec.Policy(isolation=isolation)  # type: ignore[arg-type]
    with restricted_exec.Sandbox(prefork=1) as sandbox:
        program = sandbox.compile_program("import math\nprint(math.sqrt(4))", policy=narrow)
        assert not program.compiled
        assert program.run().status == "policy_violation"
        program.policy = wide
        assert program.compiled
        assert (program.run().status, program.run().stdout) == ("ok", "2.0\n")
        program.policy = narrow
        assert program.run().status == "policy_violation"
