"""The service's host functions and keys come from its config: checked when it starts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from restricted_exec.errors import InputError
from restricted_exec.service.config import ServiceConfig
from restricted_exec.service.functions import FunctionSpec, ServedFunctions


def test_a_target_is_imported_and_served_to_the_tenants_it_names() -> None:
    served = ServedFunctions(
        {
            "hypot": FunctionSpec(target="math:hypot"),
            "dumps": FunctionSpec(target="json:dumps", tenants=frozenset({"acme"})),
        }
    )
    assert served.for_tenant("acme")["hypot"](3, 4) == 5.0
    assert set(served.for_tenant("acme")) == {"hypot", "dumps"}
    assert set(served.for_tenant("globex")) == {"hypot"}
    assert served.described("globex") == {"hypot": (math.hypot.__doc__ or "").split("\n")[0]}


@pytest.mark.parametrize(
    ("name", "target", "problem"),
    [
        ("missing", "no_such_module_here:f", "cannot import 'no_such_module_here:f'"),
        ("absent", "math:no_such_function", "cannot import 'math:no_such_function'"),
        ("constant", "math:pi", "is not callable"),
        ("_private", "math:hypot", "is private"),
        ("print", "math:hypot", "also a builtin"),
    ],
)
def test_a_wrong_entry_fails_the_start_naming_it(name: str, target: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        ServedFunctions({name: FunctionSpec(target=target)})


def test_a_target_must_be_written_module_colon_name(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"host_functions": {"f": {"target": "os.system"}}}))
    with pytest.raises(InputError, match="not a service configuration"):
        ServiceConfig.load(path)


def test_two_keys_may_share_neither_a_digest_nor_an_id() -> None:
    # The id names the key in the audit log and is a trust domain under child_reuse per caller.
    from restricted_exec.service.keys import ApiKeys, KeyEntry, hash_key

    def entry(key_id: str, key: str) -> KeyEntry:
        return KeyEntry(id=key_id, tenant="acme", sha256=hash_key(key))

    assert ApiKeys([entry("k1", "a"), entry("k2", "b")]).find("b") is not None
    with pytest.raises(ValueError, match="same id"):
        ApiKeys([entry("k1", "a"), entry("k1", "b")])
    with pytest.raises(ValueError, match="same digest"):
        ApiKeys([entry("k1", "a"), entry("k2", "a")])
