"""Imports outside the catalogue are refused at compile time, before anything runs.

Every test prints first: a refused import must leave stdout empty, which
proves the program never started.
"""

from __future__ import annotations

import pytest
from rx_sec import assert_ok, assert_policy_violation, assert_refused, run

import restricted_exec
from restricted_exec import Policy, PolicyError

FORBIDDEN_IMPORTS = {
    "os": "import os",
    "sys": "import sys",
    "subprocess": "import subprocess",
    "importlib": "import importlib",
    "builtins": "import builtins",
    "posix": "import posix",
    "ctypes": "import ctypes",
    "io": "import io",
    "pickle": "import pickle",
    "copy": "import copy",
    "inspect": "import inspect",
    "gc": "import gc",
    "threading": "import threading",
    "socket": "import socket",
    "os_as_math": "import os as math",
    "os_in_list": "import math, os",
    "from_os": "from os import system",
    "from_os_path": "from os.path import join",
    "dotted_os_path": "import os.path",
    "dotted_json_decoder": "import json.decoder",
    "dotted_collections_abc": "import collections.abc",
    "dotted_importlib_util": "import importlib.util",
    "from_json_decoder": "from json import decoder",
    "from_json_codecs": "from json import codecs",
    "from_collections_abc": "from collections import abc",
    "from_datetime_sys": "from datetime import sys",
    "from_random_os": "from random import _os",
    "from_string_formatter": "from string import Formatter",
    "from_typing_get_type_hints": "from typing import get_type_hints",
    "from_enum_enummeta": "from enum import EnumMeta",
    "relative": "from . import json",
    "relative_parent": "from .. import os",
    "relative_module": "from .json import dumps",
    "star": "from math import *",
    "inside_function": "def f():\n    import os\n    return os\nf()",
    "inside_class": "class C:\n    import os",
    "inside_try": "try:\n    import os\nexcept ImportError:\n    pass",
    "inside_if_false": "if False:\n    import subprocess",
    "inside_lambda_default": "def f(x=None):\n    from os import environ\nf()",
}


@pytest.mark.parametrize("source", list(FORBIDDEN_IMPORTS.values()), ids=list(FORBIDDEN_IMPORTS))
def test_cannot_import(source: str) -> None:
    result = run(f'print("before")\n{source}\nprint("after")\n')
    assert_policy_violation(result)
    assert "before" not in result.stdout


def test_import_denial_lists_the_allowed_modules() -> None:
    result = run("import os")
    assert_policy_violation(result, match="`os` is not an allowed module; allowed: bisect")


def test_all_forbidden_imports_are_reported_together() -> None:
    result = run("import os\nimport sys\nx = 1\nimport subprocess\n")
    assert_policy_violation(result)
    assert result.error is not None
    lines = [v.line for v in result.error.violations]
    assert lines == [1, 2, 4]


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "getattr(json, '__import__')('os')",
    ],
    ids=["dunder_import_call", "getattr_dunder_import"],
)
def test_cannot_import_with_the_import_function(source: str) -> None:
    assert_refused(run(source))


def test_a_narrowed_policy_refuses_catalogue_modules_it_does_not_allow() -> None:
    policy = dict(modules=frozenset({"math"}), preload=("math",))
    result = run('print("x")\nimport json\n', **policy)
    assert_policy_violation(result, match="allowed: math")
    assert_ok(run("import math\nprint(math.pi)", **policy))


def test_a_narrowed_policy_does_not_preload_other_modules() -> None:
    result = run("print(json.dumps(1))", modules=frozenset({"math"}), preload=("math",))
    assert_refused(result, match="json", types=frozenset({"NameError"}))


@pytest.mark.parametrize(
    "name", ["os", "sys", "subprocess", "importlib", "builtins", "json.decoder"]
)
def test_a_policy_cannot_allow_a_module_by_name_alone(name: str) -> None:
    with pytest.raises(PolicyError, match="not in the reviewed catalogue"):
        Policy(modules=frozenset({"math", name}))


def test_run_time_import_hook_refuses_unlisted_modules() -> None:
    from restricted_exec.language.modules import ModuleTable

    hook = ModuleTable(frozenset({"math"})).import_hook()
    for name in ("os", "json", "math.os", "importlib"):
        with pytest.raises(ImportError, match="not an allowed module"):
            hook(name)
    with pytest.raises(ImportError, match="relative"):
        hook("math", None, None, (), 1)


def test_run_time_import_hook_returns_proxies() -> None:
    from restricted_exec.language.modules import ModuleProxy, ModuleTable

    proxy = ModuleTable(frozenset({"json"})).import_hook()("json")
    assert isinstance(proxy, ModuleProxy)
    assert type(proxy) is not type(__import__("json"))


def test_imported_modules_are_proxies_in_the_program() -> None:
    result = assert_ok(run("import json as j\nfrom json import dumps\nprint(j is json, dumps(1))"))
    assert result.stdout == "True 1\n"


def test_compile_program_refuses_before_any_run() -> None:
    program = restricted_exec.compile_program(
        'print("x")\nimport os\n', policy=Policy(isolation="inline")
    )
    assert not program.compiled
    assert program.run().status == "policy_violation"


def test_an_allowed_attribute_this_python_lacks_is_simply_absent() -> None:
    # The catalogue was reviewed across Python versions; an attribute a newer Python removed
    # (re.T and re.TEMPLATE went in 3.13) must not stop the proxy from being built (it would
    # stop the fork server from starting), and reading it is the usual AttributeError.
    import re
    import types

    from restricted_exec.language.modules import _make_proxy

    without = types.ModuleType("re")
    without.__dict__.update({k: v for k, v in vars(re).items() if k not in ("T", "TEMPLATE")})
    proxy = _make_proxy("re", without, {})
    assert proxy.IGNORECASE is re.IGNORECASE
    with pytest.raises(AttributeError, match="has no attribute 'T'"):
        proxy.T  # noqa: B018


# What CPython's C code imports lazily through the program's __import__ (modules.py); the hook
# hands them to that C code, and a program must still never get them.
C_LAZY_IMPORTS = ("_strptime", "_pylong", "_pydecimal")


@pytest.mark.parametrize("name", C_LAZY_IMPORTS)
@pytest.mark.parametrize(
    "template",
    [
        "import {name}",
        "from {name} import *",
        "__import__('{name}')",
        "getattr(math, '__loader__').load_module('{name}')",
    ],
    ids=["import", "from_import_star", "dunder_import_call", "loader"],
)
def test_cannot_import_the_modules_cpythons_c_code_imports_lazily(name: str, template: str) -> None:
    result = run(f'print("before")\n{template.format(name=name)}\nprint("after")\n')
    assert_refused(result)
    assert "after" not in result.stdout


def test_the_fork_server_preloads_the_modules_cpythons_c_code_imports_lazily() -> None:
    # A locked-down child cannot read module files, so what C code may import lazily must be in
    # sys.modules before the fork. (Plain Python in a child of the production fork server's
    # warm-up, isolation/production_entry_with_plain_requests.py: it sees the real sys.modules.)
    import json
    import sys

    from isolation.plain_capable import PlainCapableRunner
    from isolation.plain_python import encode_plain

    from restricted_exec.isolation import ChildLimits, classify

    needed = {"_strptime"}
    if sys.version_info >= (3, 12):
        needed.add("_pylong")
    if sys.version_info >= (3, 13):
        needed.add("_pydecimal")
    probe = f"import sys; print(sorted(n for n in {sorted(needed)!r} if n in sys.modules))"
    limits = ChildLimits(wall_s=10.0, cpu_s=10.0, memory_mb=256, max_payload_bytes=1 << 20)
    with PlainCapableRunner(prefork=1) as runner:
        outcome = runner.run(encode_plain(probe), limits)
    assert classify(outcome).replied and outcome.payload is not None
    assert json.loads(outcome.payload)["stdout"] == f"{sorted(needed)}\n"
