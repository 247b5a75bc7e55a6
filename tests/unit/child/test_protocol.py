"""The program part of a process-mode request: what the parent encodes is what the child reads."""

from __future__ import annotations

import marshal

import pytest

from restricted_exec.child import executor
from restricted_exec.child.protocol import (
    DecodedProgram,
    RunOptions,
    decode_program,
    encode_program,
)

# Non-ASCII text and a lone surrogate: the source travels for traceback lines, whatever it holds.
SOURCE = "total = 1\nprint('五年后', '\ud800')\ntotal"


def test_a_program_part_decodes_to_the_code_and_options_it_was_encoded_from() -> None:
    code = compile("total = 1\ntotal", "<program>", "exec")
    options = RunOptions(
        modules=frozenset({"math", "json"}),
        preload=("math",),
        output_bytes=1234,
        max_value_items=56,
        source=SOURCE,
        deterministic=True,
    )
    decoded = decode_program(encode_program(code, (("math", "sqrt"),), options))
    assert decoded == DecodedProgram(code, (("math", "sqrt"),), options)


def _framed(header: dict[str, object], code: bytes) -> bytes:
    encoded = marshal.dumps(header)
    return len(encoded).to_bytes(4, "big") + encoded + code


def test_the_child_decodes_no_request_mode_but_restricted_programs() -> None:
    # The unrestricted mode the isolation tests once used is gone from the package: a request
    # naming it (plain source, no compiled code) is malformed, and the child runs nothing.
    plain = _framed({"mode": "unrestricted", "source": "print(1)", "output_bytes": 10}, b"")
    with pytest.raises(ValueError, match="unknown request mode 'unrestricted'"):
        decode_program(plain)
    prepared = executor.prepare(plain)
    assert prepared.restricted is None and prepared.failure is not None
    assert prepared.failure["status"] == "crashed"


@pytest.mark.parametrize(
    "program",
    [
        b"",  # shorter than the length prefix
        (100).to_bytes(4, "big") + b"{}",  # header shorter than its length says
        len(marshal.dumps([1])).to_bytes(4, "big") + marshal.dumps([1]),  # not a dict
        len(marshal.dumps({"mode": "other"})).to_bytes(4, "big") + marshal.dumps({"mode": "other"}),
        len(marshal.dumps({"mode": "restricted"})).to_bytes(4, "big")
        + marshal.dumps({"mode": "restricted"})
        + marshal.dumps("not code"),
        len(marshal.dumps({"mode": "restricted"})).to_bytes(4, "big")
        + marshal.dumps({"mode": "restricted"})
        + marshal.dumps(compile("1", "<p>", "eval"))[:-3],  # cut short
        (2).to_bytes(4, "big") + b"\xff\xff",  # not marshal data at all
        len(marshal.dumps({"mode": "restricted"})).to_bytes(4, "big")
        + marshal.dumps({"mode": "restricted"})
        + marshal.dumps(compile("1", "<p>", "eval")),  # a code object, but no options
    ],
)
def test_a_malformed_program_part_is_a_value_error(program: bytes) -> None:
    with pytest.raises(ValueError):
        decode_program(program)
