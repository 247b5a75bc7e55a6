"""What the compiler generates: hoisted module reads, guard placement, hostile source."""

from __future__ import annotations

import ast

import pytest

import restricted_exec
from restricted_exec import Policy
from restricted_exec.language.catalogue import DEFAULT_MODULES, DEFAULT_PRELOAD
from restricted_exec.language.compiler import (
    MAX_NESTING,
    CompileSettings,
    compile_source,
    hoisted_global_name,
)

SETTINGS = CompileSettings(DEFAULT_MODULES, DEFAULT_PRELOAD, 1_000_000)
INLINE = Policy(isolation="inline")


def _names(source: str) -> set[str]:
    outcome = compile_source(source, SETTINGS)
    assert outcome.code is not None, outcome.violations
    names: set[str] = set()
    stack = [outcome.code]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return names


def test_preloaded_module_reads_are_hoisted() -> None:
    names = _names("import math\nfor i in range(3):\n    math.sqrt(i)")
    assert hoisted_global_name("math", "sqrt") in names
    assert "_getattr_" not in names


def test_rebinding_a_preloaded_name_disables_hoisting_and_keeps_semantics() -> None:
    source = (
        "class Fake:\n    def sqrt(self, x):\n        return 'fake'\n"
        "def use():\n    return math.sqrt(4)\n"
        "first = use()\nmath = Fake()\nfirst, use()"
    )
    assert hoisted_global_name("math", "sqrt") not in _names(source)
    assert restricted_exec.run(source, policy=INLINE).value == [2.0, "fake"]


@pytest.mark.parametrize(
    "binding",
    [
        "math = 1",
        "import statistics as math",
        "def math(): pass",
        "for math in []: pass",
        "def f(math): pass",
        "(math := 1)",
        "try:\n    pass\nexcept Exception as math:\n    pass",
        "class math: pass",
        "def f():\n    global math\n    math = 1",
        "def f():\n    math = 1\n    def g():\n        nonlocal math",
        "match 1:\n    case math:\n        pass",
        "match [1]:\n    case [*math]:\n        pass",
        "match {}:\n    case {**math}:\n        pass",
        "match 1:\n    case int() as math:\n        pass",
        "with open_ish() as math: pass",
        "del math",
        "from statistics import mean as math",
        "f = lambda math: 1",
        "[1 for math in []]",
        "math += 1",
        "math: int = 1",
        "first, *math = [1, 2]",
    ],
    ids=[
        "assign",
        "import-as",
        "def",
        "for",
        "parameter",
        "walrus",
        "except-as",
        "class",
        "global",
        "nonlocal",
        "match-capture",
        "match-star",
        "match-mapping-rest",
        "match-as",
        "with-as",
        "del",
        "from-import-as",
        "lambda-parameter",
        "comprehension-target",
        "augmented-assign",
        "annotated-assign",
        "starred-target",
    ],
)
def test_any_binding_of_the_name_disables_hoisting(binding: str) -> None:
    assert hoisted_global_name("math", "pi") not in _names(f"{binding}\nmath.pi")


def test_attributes_outside_the_allowlist_are_not_hoisted_and_fail_at_runtime() -> None:
    result = restricted_exec.run("math.nope", policy=INLINE)
    assert result.status == "error"
    assert result.error is not None and result.error.type == "AttributeError"
    assert "math" in result.error.message


def test_match_value_patterns_on_preloaded_modules_still_compare() -> None:
    source = (
        "match 3.141592653589793:\n"
        "    case math.pi:\n        print('pi')\n"
        "    case _:\n        print('other')"
    )
    assert restricted_exec.run(source, policy=INLINE).stdout == "pi\n"


def test_item_access_compiles_natively() -> None:
    names = _names("data = [1, 2]\ndata[0] += data[1]\nx = data[0]")
    assert not names & {"_getitem_", "_write_", "_inplacevar_"}


def test_private_attribute_reads_go_through_the_private_guard() -> None:
    assert "_private_" in _names("class A:\n    pass\na = A()\na._x = 1\na._x")


def test_prints_from_every_scope_share_one_ordered_stdout() -> None:
    source = (
        "def gen():\n    print('g1')\n    yield 1\n    print('g2')\n"
        "class K:\n    def m(self):\n        print('method')\n"
        "try:\n    for v in gen():\n        print('loop', v)\n        K().m()\n"
        "finally:\n    print('finally', end='!\\n', sep='-', flush=True)\n"
    )
    result = restricted_exec.run(source, policy=INLINE)
    assert result.stdout == "g1\nloop 1\nmethod\ng2\nfinally!\n"


def _parser_refuses_or(status: str) -> str:
    try:
        ast.parse("x = " + "+".join(["1"] * 5000))
    except RecursionError:
        return "syntax_error"
    return status


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("x = " + "(" * 100_000 + ")" * 100_000, "syntax_error"),
        # CPython's parser refuses it before 3.13 (RecursionError); 3.13 parses it and the
        # nesting limit refuses it.
        ("x = " + "+".join(["1"] * 5000), _parser_refuses_or("policy_violation")),
        ("x = 1\n\0", "syntax_error"),
        ("#" + "a" * 10_000_000, "policy_violation"),
    ],
    ids=["100k-brackets", "5000-term-sum", "null-byte", "10MB-source"],
)
def test_hostile_source_gives_a_clean_result(source: str, status: str) -> None:
    # Above the 64 KiB default, so the parser meets the hostile shapes (10 MB is still refused).
    result = restricted_exec.run(source, policy=INLINE.replace(max_source_bytes=1_000_000))
    assert result.status == status
    assert result.error is not None and result.error.message


def test_the_transformer_rejects_nodes_nobody_reviewed() -> None:
    # async constructs have no reviewed visitor; RestrictedPython's default-deny holds.
    result = restricted_exec.run("async def f():\n    await g()", policy=INLINE)
    assert result.status == "policy_violation"


def test_generated_code_calls_only_the_documented_hooks() -> None:
    names = _names(
        "class A:\n    def __init__(self):\n        self._v = 1\n"
        "    def __eq__(self, o):\n        return super().__eq__(o)\n"
        "a = A()\nprint('{}'.format(a._v))\nfor i in range(2): pass"
    )
    hooks = {n for n in names if n.startswith("_") and n.endswith("_") and not n.startswith("__")}
    assert hooks == {
        "_write_",
        "_private_",
        "_special_",
        "_getattr_",
        "_getiter_",
        "_rx_run_",
        "_rx_outside_",
    }


def test_a_node_type_without_a_reviewed_visitor_is_refused() -> None:
    # New AST node types (from a newer Python) must stay denied until someone reviews them:
    # the transformer's dispatch falls back to RestrictedPython's denying generic_visit.
    import ast

    from restricted_exec.language.compiler import ProgramTransformer

    class Unreviewed(ast.stmt):
        _fields = ()

    statement = Unreviewed()
    statement.lineno, statement.col_offset = 1, 0
    transformer = ProgramTransformer(SETTINGS, set())
    transformer.visit(ast.Module(body=[statement], type_ignores=[]))
    assert [violation.message for violation in transformer.violations] == [
        "Unreviewed statements are not allowed."
    ]


def test_the_nesting_limit_is_explicit_so_every_python_version_agrees() -> None:
    # Python's recursion limit used to decide this: 3.11 refused a 1,500-term sum, 3.13
    # compiled a 5,000-term one. The bound is now the same everywhere, and stated.
    settings = Policy().compile_settings()
    at_limit = compile_source("+".join(["1"] * (MAX_NESTING - 2)), settings)
    assert at_limit.kind == "ok", at_limit.violations
    for terms in (MAX_NESTING + 1, 1_500):
        over = compile_source("+".join(["1"] * terms), settings)
        assert over.kind == "policy_violation", terms
        assert f"more than {MAX_NESTING} levels" in over.violations[0].message


def test_a_case_pattern_binding_more_names_than_the_cap_is_refused_before_compiling() -> None:
    # Red-team round 12: CPython compiles a pattern's captures in quadratic time and memory;
    # 10,900 of them (64 KiB) cost the caller ~12 s and ~5 GB.
    from restricted_exec.language.compiler import MAX_PATTERN_CAPTURES

    settings = Policy().compile_settings()

    def pattern(names: int) -> str:
        return "match 0:\n case [" + ",".join(f"a{j}" for j in range(names)) + "]: pass\n"

    assert compile_source(pattern(MAX_PATTERN_CAPTURES), settings).kind == "ok"
    for source in (
        pattern(MAX_PATTERN_CAPTURES + 1),
        pattern(10_900),
        "match 0:\n case {" + ",".join(f"{j}: a{j}" for j in range(300)) + "}: pass\n",
        "match 0:\n case C(" + ",".join(f"a{j}" for j in range(300)) + "): pass\n",
    ):
        refused = compile_source(source, settings)
        assert refused.kind == "policy_violation"
        assert f"at most {MAX_PATTERN_CAPTURES}" in refused.violations[0].message


def test_nested_finally_blocks_are_refused_before_cpython_compiles_them_exponentially() -> None:
    # Red-team round 13: CPython copies a finally body once per way out of its try, so 20
    # nested finally blocks (722 bytes) cost the caller 15 s and 3 GB to compile.
    settings = Policy().compile_settings()

    def nested(levels: int) -> str:
        return (
            "".join(" " * i + "try: a\n" + " " * i + "finally:\n" for i in range(levels))
            + " " * levels
            + "b\n"
        )

    assert compile_source(nested(3), settings).kind == "ok"
    for levels in (16, 22):
        refused = compile_source(nested(levels), settings)
        assert refused.kind == "policy_violation"
        assert "`finally` blocks" in refused.violations[0].message
    returns = (
        "def f():\n  try:\n" + "    if a: return\n" * 1000 + "  finally:\n" + "    x = 1\n" * 4000
    )
    larger = Policy(max_source_bytes=1 << 20).compile_settings()
    assert compile_source(returns, larger).kind == "policy_violation"


def test_a_call_with_more_keyword_arguments_than_the_cap_is_refused() -> None:
    from restricted_exec.language.compiler import MAX_KEYWORDS

    settings = Policy().compile_settings()

    def call(count: int) -> str:
        return "f(" + ",".join(f"a{j}=1" for j in range(count)) + ")"

    assert compile_source(call(MAX_KEYWORDS), settings).kind == "ok"
    for source in (
        call(MAX_KEYWORDS + 1),
        "class C(" + ",".join(f"a{j}=1" for j in range(300)) + "): pass",
        "match x:\n case C(" + ",".join(f"a{j}=1" for j in range(300)) + "): pass",
    ):
        refused = compile_source(source, settings)
        assert refused.kind == "policy_violation", source[:20]
        assert f"at most {MAX_KEYWORDS}" in refused.violations[0].message


@pytest.mark.parametrize(
    "source",
    [
        "def wrapped():\n    async def f():\n        await f()\n",
        "class A:\n    def __exit__(self, *a):\n        async def f():\n            pass\n",
    ],
)
def test_a_function_whose_whole_body_is_refused_is_a_violation_not_an_exception(
    source: str,
) -> None:
    # Found by the fuzz suite: the run check was inserted before the first statement of a body
    # the transformer had emptied (an async def inside), and compiling raised IndexError.
    outcome = compile_source(source, Policy().compile_settings())
    assert outcome.kind == "policy_violation"
