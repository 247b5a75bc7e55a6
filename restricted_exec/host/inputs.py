"""Checking the caller's inputs and fingerprinting them.

Inputs become tagged JSON before a run: that is the deep copy the program gets
(it cannot mutate the caller's objects) and the form a child receives.
"""

from __future__ import annotations

import hashlib
import json
import keyword
from typing import Any

from restricted_exec.errors import InputError
from restricted_exec.language.values import UnsupportedValue, encode

__all__ = ["checked_inputs", "inputs_digest"]


def checked_inputs(inputs: dict[str, Any] | None) -> dict[str, Any]:
    """Validate inputs and return them as tagged JSON (a deep copy by construction)."""
    if inputs is None:
        return {}
    if type(inputs) is not dict:
        raise InputError(f"inputs must be a dict, not {type(inputs).__name__}")
    for name in inputs:
        if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
            raise InputError(f"input name {name!r} is not a valid Python identifier")
        if name.startswith("_"):
            raise InputError(f"input name {name!r} may not start with '_'")
    try:
        tagged = encode(inputs)
    except UnsupportedValue as problem:
        raise InputError(f"inputs are not plain data: {problem}") from None
    except RecursionError:
        raise InputError("inputs are nested too deeply") from None
    assert isinstance(tagged, dict)
    return tagged


def inputs_digest(tagged_inputs: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys) of tagged inputs: equal inputs, equal digest."""
    canonical = json.dumps(tagged_inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
