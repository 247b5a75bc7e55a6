"""Doors through which CPython or the catalogue read, write or build natively, each closed.

Every hostile program here runs in process mode (a locked-down child), never inline. Each test
names the claim it proves; docs/security/native-access.md lists the mechanism behind each.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import json
import textwrap
import types
import typing

import pytest

import restricted_exec
from restricted_exec import ExecutionResult, Policy
from restricted_exec.language.catalogue import CATALOGUE, DEFAULT_MODULES, DEFAULT_PRELOAD
from restricted_exec.language.compiler import compile_source
from restricted_exec.language.modules import ModuleTable

PROCESS = Policy(isolation="process")


def run(source: str) -> ExecutionResult:
    return restricted_exec.run(textwrap.dedent(source), policy=PROCESS)


# The finding's program: a namedtuple made at run time names any attribute, `register` makes
# any object match, and the class pattern read the attribute in C.
READ_THROUGH_A_CLASS_PATTERN = """
import typing, collections
def get(obj, name):
    class G(collections.namedtuple("N", [name]), typing.Iterable): pass
    G.register(type(obj))
    match obj:
        case G(v): return v
class Catch:
    def __enter__(self): return self
    def __exit__(self, kind, error, tb):
        self.tb = tb; return True
with Catch() as c:
    1 / 0
g = get(get(get(c.tb, "tb_frame"), "f_back"), "f_globals")
print(g["sys"].modules["os"].getuid())
"""


def test_a_positional_class_pattern_reads_no_denied_attribute_of_an_object_made_to_match() -> None:
    # `obj` is read through a guard (AttributeError.obj hands out the object behind a failed
    # lookup); a namedtuple field of that name may exist, but class patterns may not read it
    # positionally: `register` or a Protocol could make any object the subject. Shown here on
    # the program's own instance, so that this guard alone is tested (register is refused
    # separately).
    result = run(
        """
        import collections
        N = collections.namedtuple("N", ["obj"])
        match N(5):
            case N(v):
                print("read", v)
        """
    )
    assert result.status == "error", result
    assert "read" not in result.stdout
    assert result.error is not None and result.error.type == "TypeError"
    assert "accepts 0 positional sub-patterns" in result.error.message


def test_a_field_named_like_a_frame_attribute_is_refused() -> None:
    for program in (
        'import collections\ncollections.namedtuple("N", ["gi_frame"])',
        "import dataclasses\n@dataclasses.dataclass\nclass P:\n    f_globals: int",
        'import typing\ntyping.NamedTuple("N", [("tb_frame", int)])',
    ):
        result = run(program)
        assert result.status == "error", result
        assert result.error is not None and "is not allowed" in result.error.message


def test_a_positional_class_pattern_reads_no_private_field_of_a_foreign_object() -> None:
    # A data class may have private fields; positional matching stops before the first.
    result = run(
        """
        import dataclasses
        @dataclasses.dataclass
        class D:
            owner: str
            _balance: int = 0
        match D("ann", 5):
            case D(owner):
                print("owner", owner)
        match D("ann", 5):
            case D(owner, balance):
                print("read", balance)
        """
    )
    assert result.stdout == "owner ann\n"
    assert result.status == "error", result
    assert result.error is not None and "positional sub-pattern" in result.error.message


def test_the_findings_class_pattern_escape_reaches_no_host_module() -> None:
    result = run(READ_THROUGH_A_CLASS_PATTERN)
    assert result.status == "error", result
    assert result.stdout == ""


def test_a_context_manager_exit_is_handed_no_traceback() -> None:
    result = run(
        """
        class Catch:
            def __enter__(self):
                return self
            def __exit__(self, kind, error, tb):
                self.seen = (kind, str(error), tb)
                return True
        with Catch() as c:
            1 / 0
        print(c.seen)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "(<class 'ZeroDivisionError'>, 'division by zero', None)\n"


def test_a_data_class_generated_init_cannot_set_attributes_of_a_catalogue_class() -> None:
    # Before the fix this program came back "ok": the child's reply encoder used the
    # separator it had planted on json.JSONEncoder.
    result = run(
        """
        import dataclasses, json
        @dataclasses.dataclass
        class W:
            item_separator: str
        W.__init__(json.JSONEncoder, ', "status": "ok", "error": null, ')
        raise ValueError("this program failed")
        """
    )
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "TypeError"
    assert "doesn't apply to a 'type' object" in result.error.message


@pytest.mark.parametrize("method", ["__repr__", "__eq__", "__init__"])
def test_every_method_dataclasses_generates_refuses_a_foreign_self(method: str) -> None:
    result = run(
        f"""
        import dataclasses, json
        @dataclasses.dataclass(order=True, frozen=True)
        class W:
            indent: object = None
        W.{method}(json.JSONEncoder(), json.JSONEncoder())
        """
    )
    assert result.status == "error", result
    assert result.error is not None and "doesn't apply to a 'JSONEncoder'" in result.error.message


def test_the_functional_enum_api_cannot_put_a_special_method_into_a_class() -> None:
    # With __reduce_ex__ in a class, dataclasses.asdict's deepcopy reached copy's
    # _reconstruct: a real setattr on any object the program named.
    result = run(
        """
        import enum, dataclasses, json
        def reduce(self, protocol):
            return (lambda: json.JSONEncoder, (), {"item_separator": "X"})
        E = enum.Enum("E", {"__reduce_ex__": reduce, "A": 1})
        @dataclasses.dataclass
        class Box:
            member: object
        dataclasses.asdict(Box(E.A))
        print(json.dumps([1, 2]))
        """
    )
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "ValueError"
    assert "'__reduce_ex__' is a special name" in result.error.message


@pytest.mark.parametrize("name", ["_missing_", "_generate_next_value_", "__getattr__"])
def test_the_functional_enum_api_cannot_define_enum_hooks(name: str) -> None:
    result = run(f'import enum\nenum.Enum("E", [("{name}", 1), ("A", 2)])')
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "ValueError"


def test_an_own_empty_enum_reaches_the_functional_api_only_through_the_guard() -> None:
    result = run(
        """
        import enum
        class Base(enum.IntEnum):
            pass
        Base("E", {"__format__": lambda self, spec: "planted", "A": 1})
        """
    )
    assert result.status == "error", result
    assert result.error is not None and "special name" in result.error.message


STR_SUBCLASS_NAME = """
class Name(str):
    def isidentifier(self):
        return True
    def startswith(self, *args):
        return False
    def __str__(self):
        return self
payload = Name("a=().__class__.__base__.__subclasses__()")
"""


def test_a_str_subclass_cannot_paste_source_into_namedtuple_s_generated_code() -> None:
    result = run(
        STR_SUBCLASS_NAME
        + """
import collections
N = collections.namedtuple("N", [payload])
print(len(N.__new__.__defaults__[0]))
"""
    )
    assert result.status in ("error", "policy_violation"), result
    assert result.stdout == ""
    result = run(
        STR_SUBCLASS_NAME
        + """
import collections
N = collections.namedtuple("N", [payload])
"""
    )
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "ValueError"
    assert "valid identifiers" in result.error.message


def test_a_str_subclass_cannot_paste_source_into_typing_namedtuple() -> None:
    result = run(
        STR_SUBCLASS_NAME
        + """
import typing
typing.NamedTuple("N", [(payload, int)])
"""
    )
    assert result.status == "error", result
    assert result.error is not None and "valid identifiers" in result.error.message


def test_update_wrapper_copies_no_namespace_of_an_object_the_program_does_not_own() -> None:
    result = run(
        """
        import functools, json
        def f():
            pass
        functools.update_wrapper(f, json.JSONEncoder)
        print(f.encode)
        """
    )
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "AttributeError"


def test_update_wrapper_still_copies_the_namespace_of_the_program_s_own_function() -> None:
    result = run(
        """
        import functools
        def inner():
            pass
        inner.unit = "kg"
        @functools.wraps(inner)
        def outer():
            pass
        print(outer.__name__, outer.unit)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "inner kg\n"


def test_the_child_reply_encoder_reads_nothing_from_json_encoder() -> None:
    # Unit test of the encoder in this process: no program runs here.
    from restricted_exec.child import executor

    payload = {"status": "error", "stdout": "", "value": [1, 2], "error": None}
    planted = json.JSONEncoder.item_separator
    try:
        json.JSONEncoder.item_separator = ', "status": "ok", '
        encoded = executor._encode_payload(dict(payload))
    finally:
        json.JSONEncoder.item_separator = planted
    assert json.loads(encoded) == payload


def test_every_catalogue_class_s_match_args_name_only_natively_readable_attributes() -> None:
    from restricted_exec.language.attribute_rules import match_args_in_reach

    checked = 0
    for name in CATALOGUE:
        proxy = ModuleTable(frozenset(CATALOGUE)).get(name)
        for attribute in CATALOGUE[name].allowed:
            value = getattr(proxy, attribute, None)
            if isinstance(value, type):
                checked += 1
                assert match_args_in_reach(value) is None, (name, attribute)
    assert checked > 50


def test_the_enum_guard_leaves_the_host_s_own_functional_enum_calls_alone() -> None:
    # Outside a program's run the stdlib's behaviour is unchanged, special names included.
    import restricted_exec.language.modules  # noqa: F401 - installs the guard

    made = enum.Enum("Made", {"__str__": lambda self: "host", "A": 1})
    assert str(made.A) == "host"
    assert made.__module__ == __name__


def test_the_host_s_own_dataclasses_are_untouched_by_the_sandbox_s_front_end() -> None:
    @dataclasses.dataclass
    class HostData:
        _private: int = 1

    assert HostData.__match_args__ == ("_private",)


def test_a_builtin_init_cannot_re_initialise_a_catalogue_property() -> None:
    result = run(
        """
        import fractions
        property.__init__(fractions.Fraction.numerator, lambda self: 42)
        print(fractions.Fraction(3, 4).numerator)
        """
    )
    assert result.status == "error", result
    assert result.stdout == ""
    assert result.error is not None and "would re-initialise a property" in result.error.message


def test_getattr_of_a_builtin_init_is_checked_like_the_attribute() -> None:
    result = run(
        """
        import fractions
        init = getattr(property, "__init__")
        init(fractions.Fraction.numerator, lambda self: 42)
        """
    )
    assert result.status == "error", result
    assert result.error is not None and "would re-initialise" in result.error.message


@pytest.mark.parametrize(
    "call",
    [
        "J.__init__(json.JSONEncoder, separators=(',', 'X'))",
        "super(J, J).__init__(json.JSONEncoder, separators=(',', 'X'))",
    ],
)
def test_a_catalogue_method_read_off_an_own_subclass_refuses_a_foreign_self(call: str) -> None:
    result = run(f"import json\nclass J(json.JSONEncoder):\n    pass\n{call}")
    assert result.status == "error", result
    assert result.error is not None and "doesn't apply to a 'type' object" in result.error.message


def test_own_classes_still_call_their_bases_special_methods_as_cpython_does() -> None:
    result = run(
        """
        import json
        class J(json.JSONEncoder):
            def __init__(self):
                super().__init__(indent=2)
                super(J, self).__init__(indent=3)
        class A:
            def __init__(self, x):
                self.x = x
        class B(A):
            def __init__(self):
                A.__init__(self, 5)
        class D(dict):
            def __init__(self):
                dict.__init__(self, a=1)
        class E(Exception):
            def __init__(self):
                Exception.__init__(self, "m")
        items = [1]
        list.__init__(items, [2, 3])
        print(J().indent, B().x, D(), E(), items)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "3 5 {'a': 1} m [2, 3]\n"


def test_register_refuses_an_abstract_base_class_the_program_did_not_define() -> None:
    result = run(
        "import typing\ntyping.Iterable.register(int)\nprint(isinstance(1, typing.Iterable))"
    )
    assert result.status == "error", result
    assert result.stdout == ""
    assert result.error is not None and "did not define" in result.error.message


def test_program_code_that_runs_while_its_error_is_described_cannot_break_the_description() -> None:
    result = run(
        """
        class Loud(Exception):
            def __str__(self):
                raise Loud()
        raise Loud()
        """
    )
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "Loud"
    assert "str() failed" in result.error.message


# -- red-team round 1 (docs/security/red-team-rounds.md) --------------------------------


@pytest.mark.parametrize("base", ["enum.Enum", "enum.IntFlag"])
def test_an_own_enum_class_cannot_reach_its_metaclass_s_private_methods(base: str) -> None:
    result = run(
        f"""
        import enum
        class E({base}):
            pass
        sys = E._convert_("X", "os", lambda n: n == "sys").sys.value
        print(sys)
        """
    )
    assert result.status == "error", result
    assert result.stdout == ""
    assert result.error is not None and '"_convert_" is private' in result.error.message


@pytest.mark.parametrize(
    "program",
    [
        "import typing\nclass P(typing.Protocol):\n    pass\nP._dump_registry()",
        "import enum\nclass E(int, enum.Enum):\n    A = 1\nE._new_member_",
        "import decimal\nclass D(decimal.DecimalTuple):\n    pass\nD._field_defaults['x'] = 1",
        "import textwrap\nclass T(textwrap.TextWrapper):\n    pass\nT()._split('a b')",
    ],
)
def test_private_names_resolve_only_to_what_the_program_defined(program: str) -> None:
    result = run(program)
    assert result.status == "error", result
    assert result.error is not None and "is private" in result.error.message


def test_private_names_the_program_defined_stay_readable() -> None:
    result = run(
        """
        import typing
        class Account:
            _rate = 0.05
            def __init__(self):
                self._balance = 100
            def _interest(self):
                return self._balance * self._rate
        class P(typing.NamedTuple):
            a: int
            b: int = 2
        a = Account()
        print(a._interest(), Account._interest(a), P._make([1, 3]), P._field_defaults)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "5.0 5.0 P(a=1, b=3) {'b': 2}\n"


@pytest.mark.parametrize(
    "call",
    ["u.format(calendar.month)", "collections.UserString.format(u, calendar.month)"],
)
def test_user_string_format_goes_through_the_safe_formatter(call: str) -> None:
    result = run(
        f"""
        import collections, calendar
        u = collections.UserString("{{0.__func__.__globals__[sys]}}")
        print({call})
        """
    )
    assert result.status == "error", result
    assert result.stdout == ""
    assert result.error is not None and "inside the field" in result.error.message


def test_a_class_body_cannot_rename_a_shared_catalogue_property() -> None:
    result = run("import fractions\nclass A:\n    x = fractions.Fraction.numerator")
    assert result.status == "error", result
    assert result.error is not None and "__set_name__" in result.error.message


def test_re_debug_cannot_print_to_the_process_s_stdout() -> None:
    result = run("import re\nre.compile('a' * 1000, re.DEBUG)")
    assert result.status == "error", result
    assert result.error is not None and "re.DEBUG" in result.error.message


def _inline_then_collect(program: str) -> tuple[ExecutionResult, list[BaseException]]:
    """Run a benign program inline, collect garbage, and return what reached the unraisable
    hook: the finalisers a program leaves run later, in this process's GC."""
    import gc
    import sys

    seen: list[BaseException] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: seen.append(unraisable.exc_value)  # type: ignore[assignment]
    try:
        result = restricted_exec.run(program, policy=Policy(isolation="inline"))
        gc.collect()
    finally:
        sys.unraisablehook = hook
    return result, seen


def test_a_suspended_generator_s_finally_runs_no_program_code_after_its_run() -> None:
    result, seen = _inline_then_collect(
        "def g():\n    try:\n        yield 1\n    finally:\n        print('late')\n"
        "x = g()\nnext(x)\n"
    )
    assert result.status == "ok", result
    assert any("run has ended" in str(error) for error in seen), seen


# -- red-team round 2 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    [
        "type(list[int])",  # types.GenericAlias: reads forwarded to __origin__ in C
        "type(typing.List[int]), _root=True",  # typing's aliases: reads and writes forwarded
        "super",  # super(): special methods of a foreign object
        "type(typing.Union)",  # a catalogue __getattr__
    ],
)
def test_a_program_class_cannot_derive_from_a_class_that_forwards_attribute_access(
    base: str,
) -> None:
    result = run(f"import typing\nclass Forwarder({base}):\n    pass")
    assert result.status == "error", result
    # Since round 10, type() no longer hands out these classes at all (the first refusal);
    # the class factory's refusal is proven on its own below.
    assert result.error is not None
    assert (
        "programs cannot subclass" in result.error.message
        or "is not available to programs" in result.error.message
    )


@pytest.mark.parametrize(
    "base",
    [
        types.GenericAlias,
        type(typing.List[int]),  # noqa: UP006
        super,
        type(typing.Union),
    ],
)
def test_the_class_factory_refuses_every_base_that_forwards_attribute_access(base: type) -> None:
    from restricted_exec.language.ownership import metaclass_for

    with pytest.raises(TypeError, match="programs cannot subclass"):
        metaclass_for((base,))


def test_the_round_2_escape_through_a_generic_alias_subclass_is_closed() -> None:
    result = run(
        """
        import dataclasses
        GA = type(list[int])
        LOOT = []
        class Catcher:
            def __eq__(self, other):
                LOOT.append(other)
                return True
        class K:
            gi_frame = Catcher()
        @dataclasses.dataclass(init=False)
        class Gi(GA):
            gi_frame: int
        def gen():
            yield
        g = gen()
        Gi(g, ()) == Gi(K(), ())
        print(LOOT)
        """
    )
    assert result.status == "error", result
    assert result.stdout == ""


def test_a_typing_alias_subclass_cannot_write_a_catalogue_class() -> None:
    result = run(
        """
        import typing, json
        class G(type(typing.List[int]), _root=True):
            pass
        G(json.JSONEncoder, (int,)).item_separator = "<<PWNED>>"
        print(json.dumps([1, 2]))
        """
    )
    assert result.status == "error", result
    assert "PWNED" not in result.stdout


def test_enum_hooks_cannot_be_assigned_after_the_class_is_made() -> None:
    result = run(
        "import enum\nclass E(enum.Enum):\n    A = 1\nE._missing_ = classmethod(lambda c, v: c.A)"
    )
    assert result.status == "policy_violation", result
    assert result.error is not None and "hook name" in result.error.message


def test_a_template_subclass_cannot_compile_its_pattern_with_re_debug() -> None:
    result = run("import string, re\nclass T(string.Template):\n    flags = re.DEBUG")
    assert result.status == "error", result
    assert result.error is not None and "re.DEBUG" in result.error.message


# -- red-team round 3 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "program",
    [
        "import dataclasses, fractions\nclass A: pass\nA.x = fractions.Fraction.numerator\n"
        "dataclasses.dataclass(slots=True)(A)",
        "import dataclasses, string\nclass T(string.Template): pass\nT.flags = 128\n"
        "del T.pattern\ndataclasses.dataclass(slots=True)(T)",
    ],
    ids=["set_name", "template_debug"],
)
def test_a_slots_data_class_made_again_passes_the_class_body_checks(program: str) -> None:
    result = run(program)
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "TypeError"


def test_lru_cache_of_a_catalogue_object_hands_out_none_of_its_namespace() -> None:
    result = run("import functools, enum\nprint(functools.lru_cache(enum.Enum).name)")
    assert result.status == "error", result
    assert result.stdout == ""
    assert result.error is not None and result.error.type == "AttributeError"


def test_lru_cache_and_cache_still_work_as_cpython_s() -> None:
    result = run(
        """
        import functools, math
        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        @functools.cache
        def double(x):
            return 2 * x
        @functools.lru_cache
        def inc(x):
            return x + 1
        fact = functools.lru_cache(math.factorial)
        print(fib(30), double(2), inc(1), fib.cache_info().hits, fib.__name__)
        print(fact(5), fact.__name__)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "832040 4 2 28 fib\n120 factorial\n"


def test_time_reads_no_clock_but_the_fixed_ones() -> None:
    # Red-team round 3: clock_gettime((~pid << 3) | 2) read any host process's CPU time.
    result = run("import time\nprint(time.clock_gettime((~1 << 3) | 2))")
    assert result.status == "error", result
    assert result.error is not None and "CLOCK_ constants" in result.error.message


# -- red-team round 4 ---------------------------------------------------------------------


def test_a_swapped_exit_of_a_suspended_generator_runs_nothing_after_the_run() -> None:
    # A decorator swapped the checked `def __exit__` for another function; the garbage
    # collector finalised the generator after the run.
    result, seen = _inline_then_collect(
        textwrap.dedent(
            """
            def ex(self, kind, error, tb):
                print("late")
            class CM:
                def __enter__(self):
                    return self
                @(lambda f: ex)
                def __exit__(self, kind, error, tb):
                    return None
            def gen(box):
                with CM():
                    yield 1
            box = []
            g = gen(box)
            box.append(g)
            next(g)
            """
        )
    )
    assert result.status == "ok", result
    assert any("run has ended" in str(error) for error in seen), seen


def test_a_program_s_exit_cannot_swallow_the_sandbox_s_control_exceptions() -> None:
    # Unit test of the guard (no program runs): __exit__ returning True for the deadline.
    from restricted_exec.child.executor import ExecutionInterrupted
    from restricted_exec.language.guards import ContextManagerGuard

    class Swallow:
        def __enter__(self) -> Swallow:
            return self

        def __exit__(self, *args: object) -> bool:
            return True

    with (
        pytest.raises(ExecutionInterrupted),
        ContextManagerGuard(Swallow(), None, (ExecutionInterrupted,)),
    ):
        raise ExecutionInterrupted
    with ContextManagerGuard(Swallow(), None, (ExecutionInterrupted,)):
        raise ValueError("a program's own exception may be swallowed")


def test_register_refuses_an_own_subclass_of_a_catalogue_abc() -> None:
    result = run("import typing\nclass M(typing.Mapping): pass\nM.register(int)")
    assert result.status == "error", result
    assert (
        result.error is not None and "register() on a subclass of Mapping" in result.error.message
    )


@pytest.mark.parametrize(
    "program",
    [
        "import collections\nclass S(collections.UserString): pass\ndel S._abc_impl",
        "import collections\nclass S(collections.UserString): pass\nS._abc_registry_clear += 1",
        "import collections\nclass S(collections.UserString): pass\nprint(S._abc_impl)",
    ],
)
def test_the_abc_module_s_state_of_a_class_is_out_of_reach(program: str) -> None:
    result = run(program)
    assert result.status == "policy_violation", result
    assert result.error is not None and "abc module" in result.error.message


def test_a_template_subclass_finds_no_debug_flags_anywhere_in_its_bases() -> None:
    result = run(
        "import string, re\nclass M:\n    flags = re.DEBUG\nclass T(M, string.Template): pass"
    )
    assert result.status == "error", result
    assert result.error is not None and "re.DEBUG" in result.error.message


def test_augmented_assignment_checks_the_private_read_it_makes() -> None:
    result = run(
        """
        import textwrap
        class Leak:
            def __radd__(self, other):
                print(repr(other))
                return other
        class T(textwrap.TextWrapper):
            pass
        t = T()
        t._munge_whitespace += Leak()
        """
    )
    assert result.status == "error", result
    assert result.stdout == ""
    assert result.error is not None and '"_munge_whitespace" is private' in result.error.message


def test_a_mangled_private_name_is_checked_as_cpython_mangles_it() -> None:
    result = run(
        """
        import collections
        class UserList(collections.UserList):
            def cast(self):
                return self.__cast
        print(UserList().cast())
        """
    )
    assert result.status == "error", result
    assert result.error is not None and '"_UserList__cast" is private' in result.error.message


def test_own_private_and_mangled_names_still_work_with_augmented_assignment() -> None:
    result = run(
        """
        class Account:
            def __init__(self):
                self.__secret = 1
                self._n = 0
            def bump(self):
                self._n += 1
                self.__secret += 1
                return self._n, self.__secret
        print(Account().bump())
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "(1, 2)\n"


# -- red-team round 5 ---------------------------------------------------------------------


def test_augmented_assignment_to_a_runtime_checked_name_is_refused() -> None:
    # s.format += x read str.format natively, past the safe formatter: it printed the real sys.
    result = run(
        'class S(str): pass\nclass Grab:\n    def __radd__(self, other):\n        return ""\n'
        's = S("x")\ns.format += Grab()'
    )
    assert result.status == "policy_violation", result
    assert result.error is not None and '".format"' in result.error.message


@pytest.mark.parametrize("name", ["format", "register", "obj", "now", "seed"])
def test_a_data_class_field_cannot_be_named_like_a_runtime_checked_attribute(name: str) -> None:
    # dataclasses.astuple read an unset `format` field through to the real str.format.
    result = run(
        f"import dataclasses\n@dataclasses.dataclass(init=False)\nclass D(str):\n"
        f"    {name}: int = dataclasses.field(init=False, repr=False)"
    )
    assert result.status == "error", result
    assert result.error is not None and "checked each time it is read" in result.error.message


@pytest.mark.parametrize(
    "program",
    [
        'import enum, fractions\nenum.Enum("E", [("a", 1), ("b", fractions.Fraction.numerator)])',
        'import enum, string, re\nclass T(string.Template):\n    idpattern = "q"\n'
        'T.flags = re.DEBUG\nenum.Enum("E", [("a", "x")], type=T)',
    ],
    ids=["set_name", "template_debug"],
)
def test_the_functional_enum_api_passes_the_class_body_checks(program: str) -> None:
    result = run(program)
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "TypeError"


def test_an_enum_lookup_stores_no_program_object_in_a_shared_member_map() -> None:
    result = run(
        """
        import re
        class I(int):
            def __and__(self, other):
                return 0
        member = re.RegexFlag(I(2 | 16 | 256))
        print(type(member.value).__name__, (re.I | re.M).value)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "int 10\n"


def test_typing_caches_keep_no_program_object_after_an_inline_run() -> None:
    # A benign program, inline on purpose: what an inline run leaves in this process.
    import typing

    result = restricted_exec.run(
        "import typing\nclass O:\n    def __call__(self):\n        pass\n"
        "    def __hash__(self):\n        return hash(int)\n"
        "    def __eq__(self, other):\n        return True\n"
        "typing.List[O()]",
        policy=Policy(isolation="inline"),
    )
    assert result.status == "error", result  # the alias is no value to return
    assert typing.List[int].__args__ == (int,)  # noqa: UP006 - typing.List is what is cached


# -- red-team round 6 ---------------------------------------------------------------------


def test_an_enum_lookup_with_more_arguments_stores_no_program_object_either() -> None:
    result = run(
        # 3.13 reads extra positional arguments as one tuple value and refuses it; 3.11 takes
        # the second as `names`: either way no program object may end up in the member map.
        "import re\nclass I(int):\n    pass\ntry:\n    re.RegexFlag(I(1 << 21), None)\n"
        "except ValueError:\n    pass\nprint(type(re.RegexFlag(1 << 21).value).__name__)"
    )
    assert result.status == "ok", result
    assert result.stdout == "int\n"


def test_a_template_subclass_cannot_be_an_enum() -> None:
    result = run(
        "import string, enum, re\nclass X(string.Template):\n"
        "    def __or__(self, other):\n        return re.DEBUG | other\n"
        "class E(X, enum.Enum):\n    flags = 0"
    )
    assert result.status == "error", result
    assert result.error is not None and "cannot also be an Enum" in result.error.message


def test_re_and_strptime_caches_keep_no_program_object_after_an_inline_run() -> None:
    # A benign program, inline on purpose: what an inline run leaves in this process.
    import datetime
    import re

    result = restricted_exec.run(
        "import re, datetime\nclass S(str):\n    def __hash__(self):\n"
        "        return hash(r'<\\1>')\n    def __eq__(self, other):\n        return True\n"
        "re.sub('(a)', S(r'EVIL\\1'), 'xa')\n"
        "class T(str):\n    def __hash__(self):\n        return hash('%d/%m/%Y')\n"
        "    def __eq__(self, other):\n        return True\n"
        "datetime.datetime.strptime('1999', T('%Y'))\n",
        policy=Policy(isolation="inline"),
    )
    assert result.status == "ok", result
    assert re.sub("(a)", r"<\1>", "banana") == "b<a>n<a>n<a>"
    assert datetime.datetime.strptime("05/01/2024", "%d/%m/%Y") == datetime.datetime(2024, 1, 5)


# -- red-team round 7 ---------------------------------------------------------------------


def test_an_initvar_cannot_be_named_like_a_runtime_checked_attribute() -> None:
    # dataclasses.replace reads every InitVar natively; `format` on a UserString subclass was
    # the raw UserString.format, which calls the real str.format (it printed the real os).
    result = run(
        "import dataclasses, collections\n@dataclasses.dataclass\n"
        "class D(collections.UserString):\n    format: dataclasses.InitVar[int] = 0\n"
    )
    assert result.status == "error", result
    assert result.error is not None and "field name 'format' is not allowed" in result.error.message


def test_a_refused_data_class_is_left_unchanged() -> None:
    # The field check ran after the stdlib had already made the class a data class.
    result = run(
        """
        import dataclasses, collections
        class D(collections.UserString):
            format: int = 0
        try:
            dataclasses.dataclass(D)
        except TypeError:
            pass
        print(dataclasses.is_dataclass(D))
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "False\n"


# Round 8: a program subclass of dataclasses.Field made its field records "own", so writable
# after the data-class checks; the stdlib then pasted the renamed field into the source of the
# __repr__ it execs (the program's text ran with the real builtins), or asdict read `format`
# natively through to the real str.format.
RENAMED_FIELD_RECORD = """
import dataclasses
class MF(dataclasses.Field):
    pass
@dataclasses.dataclass
class B:
    x: int = MF(dataclasses.MISSING, dataclasses.MISSING, False, True, None, True, None,
                dataclasses.MISSING)
dataclasses.fields(B)[0].name = 'x"+str(__import__("sys").modules["os"].getuid())+"'
@dataclasses.dataclass(init=False, eq=False)
class C(B):
    pass
print(repr(C()))
"""


def test_a_program_class_cannot_derive_from_the_stdlib_s_field_record() -> None:
    result = run(RENAMED_FIELD_RECORD)
    assert result.status == "error", result
    assert result.error is not None
    assert "programs cannot subclass Field" in result.error.message
    assert "65534" not in result.stdout and "Field" not in result.stdout


def test_field_records_the_program_reaches_cannot_be_renamed() -> None:
    # The plain Field records dataclasses hands out are the catalogue's, so read-only.
    result = run(
        """
        import dataclasses
        @dataclasses.dataclass
        class B:
            x: int = dataclasses.field(default=1)
        dataclasses.fields(B)[0].name = "format"
        """
    )
    assert result.status == "policy_violation" or result.status == "error", result
    assert result.error is not None and "Field" in result.error.message, result.error


def test_an_enum_cannot_mix_in_the_stdlib_s_field_record() -> None:
    result = run(
        """
        import dataclasses, enum
        E = enum.Enum("E", "a", type=dataclasses.Field)
        dataclasses.fields
        m = E.a
        m.name = "format"
        print("renamed")
        """
    )
    assert "renamed" not in result.stdout, result
    assert result.status in {"error", "policy_violation"}, result


def test_inherited_field_records_are_checked_before_the_stdlib_reads_them() -> None:
    # Defence in depth, shown without the Field-subclass refusal: a base's record renamed
    # behind the front end's back (here by the trusted test itself) is refused, never exec'd.
    from restricted_exec.language.class_building import dataclass as front_end
    from restricted_exec.language.ownership import CLASS_FACTORY

    def program_class(bases: tuple[type, ...]) -> type:
        namespace = CLASS_FACTORY.__prepare__("C", bases)
        namespace.update({"__module__": "__main__", "__qualname__": "C"})
        made: type = CLASS_FACTORY("C", bases, namespace)
        return made

    for renamed in ('x"+str(1)+"', "format"):

        @dataclasses.dataclass
        class Base:
            x: int = 0

        dataclasses.fields(Base)[0].name = renamed
        with pytest.raises(TypeError, match=r"field record|not an identifier|not allowed"):
            front_end(program_class((Base,)), init=False)

    class LyingRecord(dataclasses.Field):  # type: ignore[type-arg]
        __slots__ = ()

    @dataclasses.dataclass
    class Other:
        y: int = 0

    record = dataclasses.fields(Other)[0]
    lying = LyingRecord(0, dataclasses.MISSING, True, True, None, True, None, False)
    lying.name, lying.type, lying._field_type = "y", int, record._field_type  # type: ignore[attr-defined]
    Other.__dataclass_fields__["y"] = lying  # type: ignore[index]
    with pytest.raises(TypeError, match="field record the stdlib did not make"):
        front_end(program_class((Other,)), init=False)


# Round 8: wrapt's C slots forward operators to the wrapped object, and CPython hands that
# object to the other operand's method: `json == g` gave g.__eq__ the real json module.
OPERAND_GRAB = """
class Grab:
    def __eq__(self, other):
        Grab.real = other
        return False
    def __radd__(self, other):
        Grab.real = other
        return 0
{operation}
print(repr(Grab.real))
print(Grab.real.codecs.sys.modules["os"].getuid())
"""


@pytest.mark.parametrize(
    "operation", ["json == Grab()", "[datetime].count(Grab())", "json + Grab()", "Grab() == json"]
)
def test_a_module_proxy_hands_no_real_module_to_an_operand_s_method(operation: str) -> None:
    result = run(OPERAND_GRAB.format(operation=operation))
    assert result.status == "error", result
    assert result.error is not None and result.error.type == "AttributeError"
    assert "codecs" in result.error.message
    assert "from '" not in result.stdout  # a real module's repr names its file


def test_every_module_proxy_wraps_an_empty_module_not_the_real_one() -> None:
    # Whatever slot wrapt forwards (now or in a later version) reaches only this stand-in.
    from types import ModuleType

    import wrapt

    wrapped_of = wrapt.BaseObjectProxy.__dict__["__wrapped__"].__get__
    table = ModuleTable(frozenset(CATALOGUE))
    for name in CATALOGUE:
        wrapped = wrapped_of(table.get(name))
        assert type(wrapped) is ModuleType, name
        assert wrapped.__name__ == name
        assert set(vars(wrapped)) <= {
            "__name__",
            "__doc__",
            "__package__",
            "__loader__",
            "__spec__",
        }


def test_an_in_place_operator_cannot_re_point_a_shared_module_proxy() -> None:
    # wrapt answers `proxy += x` by re-pointing the proxy at `wrapped + x`.
    result = run(
        """
        import operator
        class Other:
            def __radd__(self, other):
                return "replaced"
        j = json
        for attempt in (lambda: operator.iadd(j, Other()), lambda: operator.ior(j, Other())):
            try:
                attempt()
            except TypeError as error:
                print("refused:", error)
        print(json.dumps([1]))
        """
    )
    assert result.status == "ok", result
    assert result.stdout.count("refused: module 'json' is read-only") == 2
    assert result.stdout.endswith("[1]\n")


def test_a_module_proxy_cannot_be_a_base_class() -> None:
    result = run("class X(json):\n    pass\n")
    assert result.status == "error", result
    assert result.error is not None and "cannot be a base class" in result.error.message


# Round 8, the same kind as the module proxy: a mappingproxy applies `==` to the dict it wraps,
# and CPython hands that dict to the other operand's method. Every one a program can reach is
# over an immutable mapping or a copy.
SHARED_VIEW_GRAB = """
import string, textwrap, dataclasses, re
class Grab:
    def __eq__(self, other):
        Grab.real = other
        return False
view = {read}
view == Grab()
try:
    Grab.real["poison"] = 1
except TypeError:
    pass
print(({read}).get("poison"))
"""


@pytest.mark.parametrize(
    "read",
    [
        "string.Template.pattern.groupindex",
        "re.compile('(?P<a>x)').groupindex",
        "textwrap.TextWrapper.unicode_whitespace_trans",
        "dataclasses.field().metadata",
    ],
)
def test_a_read_only_view_hands_no_shared_dict_to_a_comparison(read: str) -> None:
    result = run(SHARED_VIEW_GRAB.format(read=read))
    assert result.status == "ok", result
    assert result.stdout == "None\n"


def test_a_groupindex_read_by_name_is_a_copy_too() -> None:
    result = run(
        """
        import operator, string
        for read in (lambda p: getattr(p, "groupindex"), operator.attrgetter("groupindex")):
            view = read(string.Template.pattern)
            print(view is not string.Template.pattern.groupindex, dict(view) == {
                "escaped": 1, "named": 2, "braced": 3, "invalid": 4})
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "True True\nTrue True\n"


# Round 9 (full escape): a Fraction built from a float subclass's as_integer_ratio held the
# program's objects as its parts; encoding the value called their methods after the run had
# ended, where the Enum guards were off and str() of the exception ran the program's code.
FRACTION_WITH_PROGRAM_PARTS = """
import fractions
class Part:
    def bit_length(self):
        raise ValueError("program code ran while the value was encoded")
class F(float):
    def as_integer_ratio(self):
        return (Part(), 1)
fractions.Fraction(F(1.5))
"""


def test_a_returned_fraction_runs_none_of_the_program_s_code_while_it_is_encoded() -> None:
    result = run(FRACTION_WITH_PROGRAM_PARTS)
    assert result.status == "error", result
    assert result.error is not None
    assert result.error.message == "value: a Fraction whose parts are not plain ints"


def test_an_exception_is_described_without_running_any_of_its_code() -> None:
    from restricted_exec.language.text import exception_text

    ran: list[str] = []

    class Loud(Exception):
        def __str__(self) -> str:
            ran.append("__str__")
            return "loud"

    class Argument:
        def __repr__(self) -> str:
            ran.append("__repr__")
            return "argument"

        __str__ = __repr__

    assert exception_text(ValueError("plain", 3)) == "ValueError: ('plain', 3)"
    assert exception_text(KeyError("k")) == "KeyError: 'k'"
    for problem in (
        Loud(),
        ValueError(Argument()),
        KeyError(Argument()),
        OSError(1, "x", Argument()),
    ):
        assert "is not shown" in exception_text(problem), type(problem)
    assert ran == []


def test_the_sandbox_s_own_failure_reports_run_none_of_the_program_s_code() -> None:
    # After a run (in the child, or on the host for inline runs) str() of a program's
    # exception would run its __str__ outside the run's guards.
    from restricted_exec.child import executor
    from restricted_exec.host.endings import host_failure_result

    ran: list[str] = []

    class Loud(Exception):
        def __str__(self) -> str:
            ran.append("__str__")
            return "loud"

    crash = executor._crash(Loud())
    outcome = compile_source("1", Policy().compile_settings())
    failure = host_failure_result(outcome, Policy(), Loud())
    assert ran == []
    assert "Loud" in crash["error"]["message"] and "Loud" in failure.error.message  # type: ignore[union-attr]


def test_a_child_keeps_its_guards_on_after_the_program_has_run() -> None:
    # Fail closed: in the child, code of the program's that still runs after its run (the
    # round-9 escape made the functional Enum API put __reduce_ex__ into a class then) meets
    # the same guards as during it.
    import contextvars

    from restricted_exec.child import executor

    outcome = compile_source("1", Policy().compile_settings())
    assert outcome.code is not None
    options = executor.RunOptions(DEFAULT_MODULES, DEFAULT_PRELOAD, output_bytes=1_000)
    request = executor.program_part(outcome.code, outcome.hoisted, options)
    child = contextvars.copy_context()
    child.run(executor.run_request, request)

    def make_enum_with_a_dunder() -> object:
        return enum.Enum("E", [("__reduce_ex__", print), ("A", 1)])

    with pytest.raises(ValueError, match="special name"):
        child.run(make_enum_with_a_dunder)
    assert make_enum_with_a_dunder() is not None  # outside the child's context: the host's own


def test_a_class_statement_cannot_pass_private_keywords_to_a_catalogue_metaclass() -> None:
    # Round 9: `_simple=True` made an IntFlag subclass share its base's member map.
    for keywords in ("_simple=True", "**{'_simple': True}"):
        result = run(f"import enum\nclass F(enum.IntFlag, {keywords}):\n    A = 1\n")
        assert result.status == "error", result
        assert result.error is not None and "'_simple' is not allowed" in result.error.message


def test_typing_named_tuple_keyword_field_names_are_exact_text() -> None:
    # Round 9: keyword field names skipped the exact-text copy, so the check judged a str
    # subclass and typing built the class from what its __str__ said.
    result = run(
        """
        import typing
        class S(str):
            def __str__(self):
                return "gi_frame"
        P = typing.NamedTuple("P", **{S("zz"): int})
        print(P._fields)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "('zz',)\n"


@pytest.mark.parametrize("parts", ["Part(), 1", "1, 0", "2, -4"])
def test_a_fraction_built_from_an_int_subclass_s_parts_cannot_be_returned(parts: str) -> None:
    result = run(
        f"""
        import fractions
        class Part:
            def bit_length(self):
                raise ValueError("program code ran while the value was encoded")
        class I(int):
            numerator = property(lambda self: ({parts})[0])
            denominator = property(lambda self: ({parts})[1])
        fractions.Fraction(I(1))
        """
    )
    assert result.status == "error", result
    assert result.error is not None
    assert result.error.message == "value: a Fraction whose parts are not plain ints"


# Round 10 (full escape): type() handed out typing's alias class, whose constructor takes any
# origin and name; dataclasses.asdict deep-copied the alias, and its __reduce__ looked the name
# up in typing's globals with the program's key: the real __import__.
ALIAS_BUILT_BY_THE_PROGRAM = """
import typing, dataclasses
class K:
    def __init__(self, s):
        self.s = s
    def __hash__(self):
        return hash(self.s)
    def __eq__(self, other):
        return other == self.s
@dataclasses.dataclass
class D:
    v: object
alias = type(typing.List[int])(int, (K("__import__"),), name=K("__builtins__"))
print(dataclasses.asdict(D(alias))["v"])
"""


@pytest.mark.parametrize(
    "expression", ["typing.List[int]", "typing.List", "list[int]", "typing.Union[int, str]"]
)
def test_type_of_an_object_that_forwards_attribute_access_is_refused(expression: str) -> None:
    result = run(f"import typing\ntype({expression})")
    assert result.status == "error", result
    assert result.error is not None and "is not available to programs" in result.error.message


def test_the_round_10_escape_through_a_typing_alias_the_program_built_is_closed() -> None:
    result = run(ALIAS_BUILT_BY_THE_PROGRAM)
    assert result.status == "error", result
    assert "built-in function" not in result.stdout
    assert result.error is not None and "is not available to programs" in result.error.message


def test_obj_is_refused_through_any_object_that_forwards_attribute_access() -> None:
    # `alias.obj` reads the wrapped error's obj: the receiver is not an AttributeError.
    from types import GenericAlias

    from restricted_exec.language.guards import AccessDenied, checked_public_getattr

    failed = AttributeError("no attribute", name="nosuch", obj=json)
    with pytest.raises(AccessDenied, match="obj"):
        checked_public_getattr(GenericAlias(failed, ()), "obj")
    with pytest.raises(AccessDenied, match="obj"):
        checked_public_getattr(failed, "obj")


def test_re_escape_hands_no_shared_table_to_a_program_s_translate() -> None:
    # Round 10: re.escape(s) calls s.translate(<the table every re.escape uses>).
    result = run(
        """
        import re
        class S(str):
            def translate(self, table):
                global grabbed
                grabbed = table
                return str.translate(str(self), table)
        re.escape(S("x"))
        try:
            grabbed[ord("a")] = "[^"
        except TypeError:
            print("read-only")
        print(re.escape("a.b c~ü"))
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "read-only\n" + "a\\.b\\ c\\~ü\n"


# Round 11: a cached_property subclass given attrname "__reduce_ex__" wrote that key into an
# own instance's namespace; copy (through dataclasses.asdict) took it as the object's reduce
# hook and reconstructed with setattr on any object (json.JSONEncoder's separators).
CACHED_PROPERTY_RENAMED = """
import functools, dataclasses, json
class CP(functools.cached_property):
    pass
def make(a, b):
    return json.JSONEncoder
def red(proto):
    return (make, (1, 2), (None, {"item_separator": " HACKED "}))
class A:
    x = CP(lambda self: red)
A.x.attrname = "__reduce_ex__"
a = A()
a.x
@dataclasses.dataclass
class D:
    v: object
dataclasses.asdict(D(a))
print(json.dumps([1, 2]))
"""


def test_a_program_class_cannot_derive_from_cached_property() -> None:
    result = run(CACHED_PROPERTY_RENAMED)
    assert result.status == "error", result
    assert "HACKED" not in result.stdout
    assert result.error is not None
    assert "programs cannot subclass cached_property" in result.error.message


def test_cached_property_itself_still_works_and_its_name_stays_the_catalogue_s() -> None:
    result = run(
        """
        import functools
        class A:
            @functools.cached_property
            def x(self):
                return 42
        a = A()
        print(a.x, a.x)
        try:
            A.x.attrname = "__reduce_ex__"
        except AttributeError as error:
            print(type(error).__name__)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "42 42\nAccessDenied\n"


def _own_class(name: str, namespace: dict[str, object]) -> type:
    from restricted_exec.language.ownership import CLASS_FACTORY

    prepared = CLASS_FACTORY.__prepare__(name, ())
    prepared.update({"__module__": "__main__", "__qualname__": name, **namespace})
    made: type = CLASS_FACTORY(name, (), prepared)
    return made


def test_update_wrapper_copies_only_names_and_no_special_entries() -> None:
    from restricted_exec.language.modules import _update_wrapper

    wrapped = _own_class("Wrapped", {"__annotations__": {"a": int}, "__doc__": "doc", "b": 1})
    wrapper = _own_class("Wrapper", {})()
    _update_wrapper(wrapper, wrapped)
    entries = vars(wrapper)
    assert entries["__name__"] == "Wrapped" and entries["__doc__"] == "doc"
    assert entries["b"] == 1
    assert "__annotations__" not in entries
    assert {key for key in entries if key.startswith("__")} <= {
        "__module__",
        "__name__",
        "__qualname__",
        "__doc__",
        "__wrapped__",
    }


def test_the_data_class_front_end_gives_the_stdlib_a_checked_copy_of_the_annotations() -> None:
    # Round 11: program code ran while the stdlib built the methods it execs (a descriptor's
    # __get__, during getattr(cls, name)) and put a name that was never checked into the
    # class's live annotations; the stdlib pasted it into the exec'd source.
    from restricted_exec.language.class_building import dataclass as front_end

    annotations: dict[str, object] = {"a": int, "b": int}

    class Meddler:
        def __get__(self, instance: object, owner: object) -> object:
            annotations.pop("b", None)
            annotations['b ) + print("injected") + ( '] = int
            raise AttributeError("no default")

    target = _own_class("Target", {"__annotations__": annotations, "a": Meddler(), "b": 0})
    made = front_end(target)
    assert [field.name for field in dataclasses.fields(made)] == ["a", "b"]


# Round 12 (full escape): type(time.get_clock_info(...)) gave types.SimpleNamespace, whose
# constructor made __reduce_ex__ an instance attribute; dataclasses.asdict deep-copied the
# object, copy took the instance's hook and setattr'd __match_args__/__subclasshook__ on the
# program's own ABC after the class factory had cut them; a class pattern then read
# json.dumps.__globals__.
SIMPLE_NAMESPACE_HOOK = """
import time, json
from dataclasses import dataclass, asdict
NS = type(time.get_clock_info("time"))
ns = NS(__reduce_ex__=lambda p: (lambda: json.JSONEncoder, (), (None, {"item_separator": "PWNED"})))
@dataclass
class D:
    v: object
asdict(D(ns))
print(json.dumps([1, 2]))
"""


def test_type_of_a_simple_namespace_is_refused() -> None:
    result = run(SIMPLE_NAMESPACE_HOOK)
    assert result.status == "error", result
    assert "PWNED" not in result.stdout
    assert (
        result.error is not None and "turns any keyword into an attribute" in result.error.message
    )


def test_asdict_and_astuple_take_no_copy_hook_from_an_instance() -> None:
    # Defence in depth, shown without the type() refusal: the trusted test builds the object.
    from types import SimpleNamespace

    from restricted_exec.language import copying

    called: list[str] = []

    def hook(protocol: int) -> object:
        called.append("hook")
        return (list, ())

    @dataclasses.dataclass
    class Holder:
        v: object

    planted = SimpleNamespace(__reduce_ex__=hook, __deepcopy__=hook)
    for convert in (copying.asdict, copying.astuple):
        with pytest.raises(TypeError, match="special names"):
            convert(Holder(planted))
    with pytest.raises(TypeError, match="special names"):
        copying.deepcopy([planted])
    assert called == []
    plain = SimpleNamespace(a=[1, 2])
    copied = copying.deepcopy(plain)
    assert copied == plain and copied.a is not plain.a


@pytest.mark.parametrize(
    "value",
    [
        [1, [2, 3], {"k": (4, 5)}],
        {1, 2, frozenset({3})},
        (1, "a", None, 2.5, 3 + 4j, b"x"),
        collections.OrderedDict(a=[1]),
        collections.deque([1, [2]]),
        collections.Counter("aab"),
        fractions.Fraction(1, 3),
        decimal.Decimal("1.5"),
        datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        enum.Enum("Color", "RED").RED,  # type: ignore[attr-defined]
    ],
)
def test_the_sandbox_s_deep_copy_copies_plain_data_as_copy_deepcopy_does(value: object) -> None:
    import copy

    from restricted_exec.language import copying

    ours, theirs = copying.deepcopy(value), copy.deepcopy(value)
    assert ours == theirs and type(ours) is type(theirs)
    assert (ours is value) == (theirs is value)


def test_a_typing_alias_call_writes_orig_class_only_on_what_the_program_owns() -> None:
    # Round 12: Annotated[f, 0]() calls any f and wrote __orig_class__ natively on what it
    # returned (calendar.day_name, json.JSONEncoder, re's flag members). The host's own calls,
    # outside any run, keep typing's behaviour.
    from restricted_exec.language import class_building, modules  # noqa: F401  (installs the guard)
    from restricted_exec.language.guards import PROGRAM_RUNNING

    class Foreign:
        pass

    make_foreign = typing.Annotated[lambda: Foreign, 0]
    token = PROGRAM_RUNNING.set(True)
    try:
        assert make_foreign() is Foreign
        assert "__orig_class__" not in vars(Foreign)
    finally:
        PROGRAM_RUNNING.reset(token)
    make_foreign()
    assert vars(Foreign)["__orig_class__"] is make_foreign
    assert class_building._original_alias_call is not None


def test_a_program_s_generic_class_is_still_made_through_its_alias() -> None:
    result = run(
        """
        import typing
        T = typing.TypeVar("T")
        class Box(typing.Generic[T]):
            pass
        b = Box[int]()
        print(type(b).__name__, isinstance(b, Box))
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "Box True\n"


# Round 13 (full escape, through the round-12 copier): a bound method's reduction is
# getattr(self, func.__name__), and a program names a function anything
# (typing.NewType("__getattribute__", int)): the copy handed out object.__getattribute__.
METHOD_NAMED_LIKE_A_SLOT = """
import typing, dataclasses
class C:
    m = classmethod(typing.NewType("__getattribute__", int))
@dataclasses.dataclass
class D:
    x: object
ga = dataclasses.asdict(D(C.m))["x"]
print(type(ga).__name__)
ga(json.dumps, "__globals__")["__name__"]
"""


def test_copying_a_bound_method_rebinds_it_and_looks_up_no_name() -> None:
    result = run(METHOD_NAMED_LIKE_A_SLOT)
    assert result.stdout == "method\n", result
    assert result.status == "error" and result.value is None


def test_a_copy_is_made_only_by_the_object_s_own_class() -> None:
    from restricted_exec.language import copying

    for foreign_maker in ([].__len__, typing.List[int]):  # getattr, operator.getitem  # noqa: UP006
        with pytest.raises(TypeError, match="cannot be copied"):
            copying.deepcopy(foreign_maker)

    @dataclasses.dataclass
    class Holder:
        items: list[int]

    def total(self: Holder) -> int:
        return sum(self.items)

    bound = types.MethodType(total, Holder([1, 2]))
    copied = copying.deepcopy(bound)
    assert copied() == 3 and copied.__self__ is not bound.__self__


NEW_TYPE_NAMED_WITH_A_MAKER = """
import typing, dataclasses
@dataclasses.dataclass
class D:
    x: object
class E(Exception):
    pass
nt = typing.NewType((lambda: E, (), (None, {"__match_args__": ("__traceback__",)})), int)
dataclasses.asdict(D(nt))
"""


def test_typing_s_named_records_take_only_text_as_a_name() -> None:
    # Round 13: NewType's __reduce__ hands back its name, and a tuple there was the maker and
    # state copy used (a setattr of any name on any object).
    result = run(NEW_TYPE_NAMED_WITH_A_MAKER)
    assert result.status == "error", result
    assert result.error is not None and "name must be a string" in result.error.message
    for built_directly in ("type(typing.NewType('U', int))", "type(typing.TypeVar('T'))"):
        refused = run(f"import typing\n{built_directly}")
        assert refused.error is not None and "call typing." in refused.error.message


def test_typing_s_named_records_cannot_be_a_program_s_base() -> None:
    from restricted_exec.language.ownership import metaclass_for

    for record in (typing.NewType, typing.TypeVar):
        with pytest.raises(TypeError, match="programs cannot subclass"):
            metaclass_for((record,))


def test_name_mangling_cannot_reach_a_hoisted_global() -> None:
    # Round 14: `__sqrt` inside `class rx_math` is mangled to `_rx_math__sqrt`, which was the
    # global math.sqrt is hoisted to; hoisted names now end in `_`, as no program name may.
    result = run(
        """
        class rx_math:
            def f(self):
                global __sqrt
                __sqrt = lambda x: "overwritten"
        rx_math().f()
        print(math.sqrt(4))
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "2.0\n"


def test_user_dict_copy_reads_no_copy_hook_from_an_instance() -> None:
    # Round 14: UserDict.copy is the one catalogue method that calls the stdlib's copy.copy,
    # which reads __reduce_ex__/__getstate__ off the instance. While a program runs it copies
    # with the sandbox's shallow copy, and only the program's own objects.
    from types import SimpleNamespace

    from restricted_exec.language import copying, modules  # noqa: F401  (installs the guard)
    from restricted_exec.language.guards import PROGRAM_RUNNING, raw_function

    planted = SimpleNamespace(data={}, __reduce_ex__=lambda protocol: (list, ()))
    token = PROGRAM_RUNNING.set(True)
    try:
        # The method's checked self (row 54) would refuse the namespace first; this guard is
        # the function behind it.
        with pytest.raises(AttributeError, match="changes the object it is given"):
            raw_function(collections.UserDict.copy)(planted)
        with pytest.raises(TypeError, match="doesn't apply to a 'SimpleNamespace' object"):
            collections.UserDict.copy(planted)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="special names"):
            copying.shallow_copy(planted)
    finally:
        PROGRAM_RUNNING.reset(token)
    result = run(
        """
        import collections
        class U(collections.UserDict):
            pass
        u = U(a=1)
        u.x = [5]
        c = u.copy()
        print(type(c).__name__, dict(c), c.x is u.x)
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "U {'a': 1} True\n"


def test_partialmethod_takes_no_descriptor_that_hands_out_a_hidden_self() -> None:
    # Round 14: partialmethod(staticmethod(len)) stored the real builtins module (len's
    # __self__) in the partial it handed out.
    result = run(
        """
        import functools
        class C:
            def f(self, a, b):
                return a + b
            g = functools.partialmethod(f, 1)
        print(C().g(2))
        class D:
            pm = functools.partialmethod(staticmethod(len))
        """
    )
    assert result.stdout == "3\n", result
    assert result.status == "error"
    assert (
        result.error is not None and "must wrap the program's own function" in result.error.message
    )


def test_a_field_record_serves_one_data_class_only() -> None:
    # Round 15: a field() record given to a second class was renamed under the first after the
    # first's checks (to a private name of its catalogue base), and replace() read it natively.
    result = run(
        """
        import dataclasses, textwrap
        f = dataclasses.field(default=1)
        @dataclasses.dataclass(init=False)
        class A(textwrap.TextWrapper):
            x: int = f
        @dataclasses.dataclass
        class B:
            _split: int = f
        """
    )
    assert result.status == "error", result
    assert result.error is not None and "already belongs to field 'x'" in result.error.message


def test_typed_dict_names_and_keys_are_exact_text() -> None:
    # Round 15: TypedDict's functional form made a class whose __name__ was the program's
    # str subclass, running its code whenever anything formatted the name.
    result = run(
        """
        import typing
        class S(str):
            def __format__(self, spec):
                return "FMT"
        T = typing.TypedDict(S("T"), {S("a"): int})
        print(type(T.__name__).__name__, T.__module__, T(a=1))
        class Movie(typing.TypedDict):
            title: str
        print(Movie(title="x"))
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "str __main__ {'a': 1}\n{'title': 'x'}\n"


# -- red-team round 16 (docs/security/red-team-rounds.md) -------------------------------------


def test_an_unbound_catalogue_method_cannot_write_onto_another_catalogue_class() -> None:
    # calendar.Calendar.setfirstweekday sets self._firstweekday natively; read off the class it
    # was the plain function, so a catalogue class could be passed as `self` (row 54).
    result = run(
        """
        import calendar, textwrap
        calendar.Calendar.setfirstweekday(textwrap.TextWrapper, 3)
        print(calendar.Calendar.getfirstweekday(textwrap.TextWrapper))
        """
    )
    assert result.status == "error" and result.error is not None, result
    assert result.error.type == "TypeError" and result.stdout == "", result


# Every path to a function of a catalogue class a program can take, each ending in a call with a
# foreign `self` (row 54). Before the attack line, the same function is used correctly where that
# makes sense: instance calls and the program's own subclasses behave as in CPython.
UNBOUND_CATALOGUE_FUNCTION_PATHS = {
    "read_off_an_own_subclass": """
        import calendar, textwrap
        class C(calendar.Calendar): pass
        c = C()
        C.setfirstweekday(c, 2)
        print(c.getfirstweekday())
        C.setfirstweekday(textwrap.TextWrapper, 3)
        """,
    "super_of_an_own_class": """
        import calendar, textwrap
        class C(calendar.Calendar):
            def set(self, day):
                super().setfirstweekday(day)
        c = C()
        c.set(4)
        print(c.firstweekday)
        super(C, C).setfirstweekday(textwrap.TextWrapper, 3)
        """,
    "getattr_with_a_computed_name": """
        import calendar, textwrap
        getattr(calendar.Calendar, "set" + "firstweekday")(textwrap.TextWrapper, 3)
        """,
    "operator_attrgetter": """
        import calendar, operator, textwrap
        operator.attrgetter("setfirstweekday")(calendar.Calendar)(textwrap.TextWrapper, 3)
        """,
    "a_class_pattern_reading_it_natively": """
        import calendar, textwrap
        match calendar.Calendar:
            case object(setfirstweekday=f):
                f(textwrap.TextWrapper, 3)
        """,
    "self_passed_by_keyword": """
        import calendar, textwrap
        calendar.Calendar.setfirstweekday(self=textwrap.TextWrapper, firstweekday=3)
        """,
    "a_property_setter": """
        import calendar, textwrap
        c = calendar.Calendar()
        calendar.Calendar.firstweekday.fset(c, 5)
        print(c.firstweekday, calendar.Calendar.firstweekday.fget(c))
        calendar.Calendar.firstweekday.fset(textwrap.TextWrapper, 3)
        """,
    "a_property_getter_reading_private_state": """
        import fractions
        class Holder: pass
        h = Holder()
        h._numerator = "private"
        print(fractions.Fraction.numerator.fget(fractions.Fraction(3, 4)))
        print(fractions.Fraction.numerator.fget(h))
        """,
    "a_typing_alias_forwarding_to_its_origin": """
        import collections, textwrap, typing
        print(typing.Counter.most_common(collections.Counter("aab"), 1))
        typing.Counter.most_common(textwrap.TextWrapper)
        """,
    "the_type_of_an_instance_handed_out": """
        import collections, textwrap
        keys = collections.UserDict(a=1).keys()
        print(type(keys).isdisjoint(keys, ["b"]))
        print(type(keys).isdisjoint(textwrap.TextWrapper, []))
        """,
    "a_namedtuple_method_of_a_catalogue_record": """
        import statistics, textwrap
        fit = statistics.linear_regression([1, 2, 3], [2, 4, 6])
        print(type(fit)._asdict(fit))
        statistics.LinearRegression._replace(textwrap.TextWrapper)
        """,
    "wrapped_again_in_a_partialmethod": """
        import calendar, functools, textwrap
        class C:
            set_three = functools.partialmethod(calendar.Calendar.setfirstweekday, 3)
        C.set_three(textwrap.TextWrapper)
        """,
    "wrapped_again_in_a_staticmethod_of_an_own_class": """
        import calendar, textwrap
        class C:
            s = staticmethod(calendar.Calendar.setfirstweekday)
        C.s(textwrap.TextWrapper, 3)
        """,
}

UNBOUND_CATALOGUE_FUNCTION_OUTPUT = {
    "read_off_an_own_subclass": "2\n",
    "super_of_an_own_class": "4\n",
    "a_property_setter": "5 5\n",
    "a_property_getter_reading_private_state": "3\n",
    "a_typing_alias_forwarding_to_its_origin": "[('a', 2)]\n",
    "the_type_of_an_instance_handed_out": "True\n",
    "a_namedtuple_method_of_a_catalogue_record": "{'slope': 2.0, 'intercept': 0.0}\n",
}


@pytest.mark.parametrize(
    "path", UNBOUND_CATALOGUE_FUNCTION_PATHS, ids=list(UNBOUND_CATALOGUE_FUNCTION_PATHS)
)
def test_no_path_to_a_catalogue_function_takes_a_foreign_self(path: str) -> None:
    result = run(UNBOUND_CATALOGUE_FUNCTION_PATHS[path])
    assert result.status == "error" and result.error is not None, result
    assert result.error.type == "TypeError", result
    assert "objects doesn't apply to a" in result.error.message, result
    assert result.stdout == UNBOUND_CATALOGUE_FUNCTION_OUTPUT.get(path, ""), result


def test_the_raw_function_behind_a_checked_catalogue_function_is_not_readable() -> None:
    # The wrapper keeps the function only in its closure; every attribute that would lead back
    # (__wrapped__, __closure__, __globals__, a bound method's __func__) is a special name the
    # attribute rules refuse, statically and by getattr.
    for expression in (
        "calendar.Calendar.setfirstweekday.__wrapped__",
        "calendar.Calendar.setfirstweekday.__closure__",
        "calendar.Calendar().setfirstweekday.__func__",
        "getattr(calendar.Calendar.setfirstweekday, '__wrapped__')",
        "getattr(calendar.Calendar().setfirstweekday, '__func__')",
        "getattr(calendar.Calendar.setfirstweekday, '__globals__')",
    ):
        result = run(f"import calendar\nprint({expression})")
        assert result.status in ("policy_violation", "error"), (expression, result)
        assert result.stdout == "", (expression, result)


def test_an_enum_property_hands_out_no_function_when_read_off_a_class() -> None:
    # enum.property (Enum.name, Enum.value) is left unwrapped (catalogue_methods): its __get__
    # answers a read off the class with a member or AttributeError, never with itself.
    result = run(
        """
        import enum
        class Color(enum.Enum):
            RED = 1
        print(Color.RED.name, Color.RED.value)
        reads = (lambda: enum.Enum.value, lambda: Color.name, lambda: super(Color, Color).value)
        for read in reads:
            try:
                print(read())
            except AttributeError as error:
                print("AttributeError")
        """
    )
    assert result.status == "ok", result
    assert result.stdout == "RED 1\nAttributeError\nAttributeError\nAttributeError\n"
