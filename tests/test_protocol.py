"""The program part of a process-mode request: what the parent encodes is what the child reads."""

from __future__ import annotations

import marshal

import pytest

from restricted_exec.child.protocol import (
    decode_program,
    encode_program,
    encode_unrestricted_request,
)

# Non-ASCII text and a lone surrogate: the source travels for traceback lines, whatever it holds.
SOURCE = "total = 1\nprint('五年后', '\ud800')\ntotal"


def test_a_program_part_decodes_to_the_code_and_options_it_was_encoded_from() -> None:
    code = compile("total = 1\ntotal", "<program>", "exec")
    program = encode_program(
        code,
        hoisted=(("math", "sqrt"),),
        modules=frozenset({"math", "json"}),
        preload=("math",),
        output_bytes=1234,
        max_value_items=56,
        source=SOURCE,
        deterministic=True,
    )
    decoded = decode_program(program)
    assert decoded.mode == "restricted"
    assert decoded.code == code
    assert decoded.header["source"] == SOURCE
    assert decoded.header["hoisted"] == [["math", "sqrt"]]
    assert decoded.header["modules"] == ["json", "math"]
    assert decoded.header["preload"] == ["math"]
    assert (decoded.header["output_bytes"], decoded.header["max_value_items"]) == (1234, 56)
    assert decoded.header["deterministic"] is True


def test_the_test_only_unrestricted_request_carries_its_source_and_no_code() -> None:
    decoded = decode_program(encode_unrestricted_request(SOURCE, output_bytes=10))
    assert (decoded.mode, decoded.code) == ("unrestricted", None)
    assert (decoded.header["source"], decoded.header["output_bytes"]) == (SOURCE, 10)


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
    ],
)
def test_a_malformed_program_part_is_a_value_error(program: bytes) -> None:
    with pytest.raises(ValueError):
        decode_program(program)
