"""What the fuzz targets found, kept as regression tests.

Found by ``test_long_mutated_escape_suite_attacks_never_escape`` (mutation of the escape
suite's ``functools.wraps(json)`` snippet, run inline): ``functools.update_wrapper`` and
``functools.wraps`` read ``wrapped.__annotations__`` in trusted code, past the compiler's
dunder rule. On a catalogue module the read goes through the wrapt proxy to the real module,
and CPython (3.10+) answers a module's ``__annotations__`` by *creating* an empty dict in the
module's namespace. So a program run inline adds an attribute to the host's real module - shared
by the caller and every later inline run - and ``wrapper.__annotations__`` becomes that very
dict. No way for a program to read or write the dict was found (``__annotations__`` is a dunder
the compiler refuses, ``vars``/``typing.get_type_hints`` are denied); in process mode the change
dies with the single-use child.

Fixed: ``ModuleProxy.__annotations__`` raises AttributeError (as ``__dict__`` does) instead of
forwarding to the real module, so ``update_wrapper`` skips the attribute.
"""

from __future__ import annotations

import importlib

import pytest

import restricted_exec
from restricted_exec import Policy

INLINE = Policy(isolation="inline")
CANDIDATES = ("json", "textwrap", "bisect", "heapq", "cmath", "calendar", "fractions")


def _untouched_module() -> str:
    for name in CANDIDATES:
        if "__annotations__" not in vars(importlib.import_module(name)):
            return name
    pytest.skip("every candidate module already has __annotations__ in this process")


@pytest.mark.parametrize(
    "template",
    [
        "import functools, {m}\ndef g():\n    pass\n_ = functools.update_wrapper(g, {m})",
        "import functools, {m}\n@functools.wraps({m})\ndef g():\n    pass",
    ],
    ids=["update_wrapper", "wraps"],
)
def test_wrapping_a_module_proxy_leaves_the_host_module_unchanged(template: str) -> None:
    name = _untouched_module()
    module = importlib.import_module(name)
    before = set(vars(module))
    result = restricted_exec.run(template.format(m=name), policy=INLINE)
    assert result.status == "ok", result.error
    assert set(vars(module)) == before, sorted(set(vars(module)) - before)


def test_wrapping_a_module_proxy_reaches_no_module_attribute() -> None:
    # The part that holds: update_wrapper's __dict__ copy does not hand the program the real
    # module's namespace (json.codecs stays unreachable through the wrapper).
    source = (
        "import functools\ndef g():\n    pass\nfunctools.update_wrapper(g, json)\n"
        "print(hasattr(g, 'codecs'), hasattr(g, 'decoder'))"
    )
    for policy in (INLINE, Policy()):
        result = restricted_exec.run(source, policy=policy)
        assert (result.status, result.stdout) == ("ok", "False False\n"), result.error
