"""The layers a result lists are those the child reported before its program ran.

A child's reply comes after the program, which may have taken the child over (here: plain,
unrestricted Python writing its own reply frame); it may report fewer layers than the hello
it sent while still trusted, never more.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import ClassVar

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner, encode
from restricted_exec.isolation import ChildLimits

LIMITS = ChildLimits(wall_s=10.0, cpu_s=10.0, memory_mb=256, max_payload_bytes=1 << 20)


class _WithoutEmptyRoot(UnrestrictedRunner):
    _empty_root: ClassVar[bool] = False


@pytest.fixture(scope="module")
def runner() -> Iterator[UnrestrictedRunner]:
    with _WithoutEmptyRoot(prefork=1) as started:
        yield started


def test_a_child_cannot_claim_a_layer_it_did_not_report_before_its_program_ran(
    runner: UnrestrictedRunner,
) -> None:
    assert "empty_root" not in runner.layers_available()
    source = textwrap.dedent(
        """
        import os
        from restricted_exec.isolation import wire, layers
        payload = b'{"status":"ok","stdout":"","stdout_truncated":false,"value":null,"error":null}'
        header = wire.ReplyHeader(layers.to_mask(layers.ALL), 1, 1, len(payload))
        frame = memoryview(wire.encode_reply(header) + payload)
        while frame:
            frame = frame[os.write(wire.CHILD_SOCKET_FD, frame):]
        os._exit(0)
        """
    )
    outcome = runner.run(encode(source), LIMITS)
    assert outcome.payload is not None
    assert "empty_root" not in outcome.layers
    assert set(outcome.layers) <= set(runner.layers_available())
