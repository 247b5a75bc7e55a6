"""How a program's globals are prepared in a child: from scratch, or from the base the fork
server built once for the default options (executor.prepare_base)."""

from __future__ import annotations

import contextvars
import json
from typing import Any

from restricted_exec import Policy
from restricted_exec.child import executor
from restricted_exec.child.protocol import encode_inputs
from restricted_exec.host.run_plan import run_options
from restricted_exec.language.compiler import compile_source, hoisted_global_name

SOURCE = "r = math.sqrt(2) + json.loads('1')\nprint(datetime.date(2024, 1, 1))\nr"


def program_part(policy: Policy) -> bytes:
    outcome = compile_source(SOURCE, policy.compile_settings())
    assert outcome.code is not None, outcome
    return executor.program_part(outcome.code, outcome.hoisted, run_options(policy, SOURCE))


def globals_of(prepared: executor.Prepared) -> dict[str, Any]:
    assert prepared.restricted is not None, prepared.failure
    return prepared.restricted[4]


def test_globals_prepared_from_the_base_are_those_built_from_scratch() -> None:
    program = program_part(Policy())
    hoisted = compile_source(SOURCE, Policy().compile_settings()).hoisted
    assert hoisted  # the case that adds to the base
    shared = {hoisted_global_name(module, name) for module, name in hoisted}
    base = executor.prepare_base()
    assert base is not None
    from_base = globals_of(executor.prepare(program, base))
    from_scratch = globals_of(executor.prepare(program))
    assert from_base is base.program_globals
    assert list(from_base) == list(from_scratch)
    for name, value in from_scratch.items():
        if name == "__builtins__":
            assert list(from_base[name]) == list(value)
        elif name in shared or name in Policy().preload:
            assert from_base[name] is value  # the same shared proxy or function
        else:
            assert type(from_base[name]) is type(value), name


def test_the_base_takes_the_programs_output_limit() -> None:
    # The program prints "2024-01-01\n" (11 bytes).
    for limit, expected in ((7, "2024-01"), (1000, "2024-01-01\n")):
        base = executor.prepare_base()
        assert base is not None
        prepared = executor.prepare(program_part(Policy(output_bytes=limit)), base)
        # In a context of its own: a child's guards stay on after its run (PROGRAM_RUNNING),
        # which in this process would leak into the tests that run after this one.
        ran = contextvars.copy_context().run(executor.run_prepared, prepared, encode_inputs({}))
        payload = json.loads(ran)
        assert payload["stdout"] == expected
        assert payload["stdout_truncated"] is (limit < 11)


def test_the_base_is_not_used_for_other_options() -> None:
    base = executor.prepare_base()
    assert base is not None
    for policy in (Policy(deterministic=True), Policy(preload=("math",))):
        prepared = executor.prepare(program_part(policy), base)
        assert globals_of(prepared) is not base.program_globals
