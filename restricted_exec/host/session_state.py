"""What a session carries from one child to the next, and in a dump: data and definitions.

A session's state lives in its child, as a program's globals. So that a session outlives the
child (a run that timed out or crashed ends it) and can move to another process, the host
keeps a description of that state, made of data only:

* ``data``: the program's plain-data globals, as tagged JSON (the value codec), taken by the
  child after every run that it survived (``child.executor.run_session``);
* ``definitions``: the source of every top-level ``def``, ``class`` and ``import`` of the runs
  so far, in order, which a new child runs again (compiled like any program, under the
  session's policy) to make the functions, classes and modules again;
* ``others``: the names of the globals that are neither; those no definition makes again (an
  instance of a class, a generator, a lambda bound to a name, data past the 4 MiB budget) are
  not carried over, and ``Session.unrestored`` lists them after a restore.

Nothing in it is code the host runs, or an object: a tampered or foreign dump can at most make
the next child run restricted code under the loader's policy, and bind data.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from restricted_exec.errors import InputError
from restricted_exec.host.reply import MalformedReply, read_child_json
from restricted_exec.language.values import UnsupportedValue, decode

__all__ = [
    "DUMP_FORMAT",
    "DUMP_VERSION",
    "MAX_DUMP_BYTES",
    "SessionState",
    "checked_names",
    "definitions_of",
]

DUMP_FORMAT = "restricted_exec session"
DUMP_VERSION = 1
MAX_DUMP_BYTES = 64 * 1024 * 1024
"""The largest dump ``Sandbox.load_session`` reads."""
DEFINITIONS_BYTES = 256 * 1024
"""The most source a session's definitions keep (the oldest go first past it): what a new
child can compile and run again within an ordinary run's timeout."""
MAX_DEFINITIONS = 2_000
"""The most definitions a session keeps (the oldest go first past it)."""

_DEFINITIONS = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


Definition = tuple[str, frozenset[str]]
"""A definition's source, and the names it binds."""


@functools.lru_cache(maxsize=256)
def definitions_of(source: str) -> tuple[Definition, ...]:
    """The top-level ``def``, ``class`` and ``import`` statements of ``source`` (decorators
    included), exactly as written there, each with the names it binds; () if the source does
    not parse (or is too deep to). One pass over the source: its line offsets are found once."""
    try:
        tree = ast.parse(source)
        data = source.encode("utf-8")
        # Where each line starts, in bytes, as the tokenizer counts lines (\n, \r\n, \r):
        # ast's columns are UTF-8 byte offsets into them.
        starts = [0, *(match.end() for match in _NEWLINE.finditer(data))]
        found = []
        for node in tree.body:
            if not isinstance(node, _DEFINITIONS):
                continue
            begin = starts[node.lineno - 1] + node.col_offset
            decorators = getattr(node, "decorator_list", ())
            if decorators:  # from the first decorator's "@"
                first = decorators[0]
                line_start = starts[first.lineno - 1]
                begin = data.rindex(b"@", line_start, line_start + first.col_offset)
            assert node.end_lineno is not None and node.end_col_offset is not None
            end = starts[node.end_lineno - 1] + node.end_col_offset
            found.append((data[begin:end].decode("utf-8"), _names_bound(node)))
        return tuple(found)
    except Exception:  # RecursionError, MemoryError: a source the compiler took, too deep here
        return ()


_NEWLINE = re.compile(rb"\r\n|\r|\n")


def _names_bound(node: ast.stmt) -> frozenset[str]:
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return frozenset({node.name})
    if isinstance(node, ast.Import | ast.ImportFrom):
        return frozenset(alias.asname or alias.name.split(".")[0] for alias in node.names)
    return frozenset()


def _names_of(definition: str) -> frozenset[str]:
    found = definitions_of(definition)
    return frozenset().union(*(names for _, names in found)) if found else frozenset()


def checked_names(names: Any, what: str) -> tuple[str, ...]:
    """``names`` if it is a list of names a program's global may have: identifiers that are
    neither special (``__x__``) nor restricted_exec's own (``_rx...``)."""
    if type(names) is not list:
        raise MalformedReply(f"{what} is not a list of names")
    for name in names:
        if not _is_program_name(name):
            raise MalformedReply(f"{what} holds {str(name)[:40]!r}, which is no program name")
    return tuple(names)


def _is_program_name(name: Any) -> bool:
    return (
        type(name) is str
        and name.isidentifier()
        and len(name) <= 200
        and not name.startswith(("__", "_rx"))
    )


@dataclass(frozen=True)
class SessionState:
    """A session's state as data (see the module's docstring). ``names`` holds, for each
    definition, the names it binds (made from the definitions when not given)."""

    definitions: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    others: tuple[str, ...] = ()
    names: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.names) != len(self.definitions):
            object.__setattr__(self, "names", tuple(_names_of(d) for d in self.definitions))

    @property
    def empty(self) -> bool:
        return not (self.definitions or self.data)

    def after(
        self, definitions: tuple[Definition, ...], snapshot: dict[str, Any], max_items: int
    ) -> SessionState:
        """The state after a run the child survived, of a source whose ``definitions_of`` are
        ``definitions``, whose reply carried ``snapshot`` (checked here: it is a child's word).
        Raises MalformedReply."""
        data, others = _checked_snapshot(snapshot, max_items, checked=self.data)
        kept = tuple(zip(self.definitions, self.names, strict=True))
        pairs = _merged(kept, definitions)
        return SessionState(
            tuple(text for text, _ in pairs), data, others, tuple(names for _, names in pairs)
        )

    def unrestored(self, made: Any, max_items: int) -> tuple[str, ...]:
        """The names a new child does not have again, given the state it reported after the
        restore (``made``, a child's word: checked)."""
        try:
            data, others = _checked_snapshot(made, max_items)
        except MalformedReply:
            return self.others
        present = set(data) | set(others)
        return tuple(name for name in self.others if name not in present)

    def restore_batches(self, max_source_bytes: int) -> list[tuple[str, ...]]:
        """The definitions in order, in batches whose joined source fits ``max_source_bytes``
        (one that does not fit alone is a batch of its own): each batch is one program a new
        child runs, the definitions exactly as they were written."""
        batches: list[tuple[str, ...]] = []
        batch: list[str] = []
        size = 0
        for definition in self.definitions:
            length = len(definition.encode("utf-8")) + 1
            if batch and size + length > max_source_bytes:
                batches.append(tuple(batch))
                batch, size = [], 0
            batch.append(definition)
            size += length
        if batch:
            batches.append(tuple(batch))
        return batches

    def dump(self) -> bytes:
        """A versioned, data-only dump (JSON)."""
        return json.dumps(
            {
                "format": DUMP_FORMAT,
                "version": DUMP_VERSION,
                "definitions": list(self.definitions),
                "data": self.data,
                "others": list(self.others),
            },
            separators=(",", ":"),
            allow_nan=False,
        ).encode()

    @classmethod
    def load(cls, dump: bytes, *, max_items: int, max_source_bytes: int) -> SessionState:
        """A dump read back and checked as the untrusted bytes it may be. Raises InputError
        naming what is wrong."""
        if not isinstance(dump, bytes | bytearray):
            raise InputError("a session dump is bytes (Session.dump())")
        if len(dump) > MAX_DUMP_BYTES:
            raise InputError(f"a session dump of {len(dump):,} bytes; at most {MAX_DUMP_BYTES:,}")
        try:
            raw = read_child_json(bytes(dump), max_items=max_items)
            if type(raw) is not dict or raw.keys() != {
                "format",
                "version",
                "definitions",
                "data",
                "others",
            }:
                raise MalformedReply("not a session dump")
            if raw["format"] != DUMP_FORMAT or raw["version"] != DUMP_VERSION:
                raise MalformedReply(
                    f"format {str(raw['format'])[:40]!r} version {str(raw['version'])[:10]}; "
                    f"this is {DUMP_FORMAT!r} version {DUMP_VERSION}"
                )
            definitions = raw["definitions"]
            if type(definitions) is not list or not all(
                type(text) is str and len(text.encode("utf-8", "replace")) <= max_source_bytes
                for text in definitions
            ):
                raise MalformedReply(
                    "definitions are not a list of sources within max_source_bytes"
                )
            data, others = _checked_snapshot(
                {"data": raw["data"], "others": raw["others"]}, max_items
            )
        except MalformedReply as problem:
            raise InputError(f"not a session dump this Sandbox can load: {problem}") from None
        # A dump keeps what a session would: past the caps, the oldest definitions go.
        pairs = _merged((), tuple((text, _names_of(text)) for text in definitions))
        return cls(
            tuple(text for text, _ in pairs), data, others, tuple(names for _, names in pairs)
        )


def _merged(kept: tuple[Definition, ...], new: tuple[Definition, ...]) -> tuple[Definition, ...]:
    """The definitions after a run added ``new``: one all of whose names a later one binds
    again is dropped (a function redefined, an import repeated), and past MAX_DEFINITIONS or
    DEFINITIONS_BYTES the oldest go (their names are then reported unrestored), so the list is
    as long as the session's living definitions, not as its history. Linear in its length."""
    merged = kept + new
    latest: dict[str, int] = {}
    for index, (_, names) in enumerate(merged):
        for name in names:
            latest[name] = index
    living = [pair for index, pair in enumerate(merged) if any(latest[n] == index for n in pair[1])]
    total = sum(len(text) for text, _ in living)
    first = 0
    while first < len(living) and (
        len(living) - first > MAX_DEFINITIONS or total > DEFINITIONS_BYTES
    ):
        total -= len(living[first][0])
        first += 1
    return tuple(living[first:])


def _checked_snapshot(
    snapshot: Any, max_items: int, checked: dict[str, Any] | None = None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``checked``: values known good (the last state's): one equal to its is not decoded
    again (most of a session's data is the same from one run to the next)."""
    if type(snapshot) is not dict or snapshot.keys() != {"data", "others"}:
        raise MalformedReply("a session state that is not exactly data and others")
    data = snapshot["data"]
    if type(data) is not dict:
        raise MalformedReply("a session state whose data is not an object")
    checked_names(list(data), "a session state's data")
    known = checked or {}
    try:
        for name, value in data.items():
            if name in known and known[name] == value:
                continue
            decode(value, max_items=max_items)  # data only: anything else is refused here
    except UnsupportedValue as problem:
        raise MalformedReply(f"a session state's data: {problem}") from None
    return dict(data), checked_names(snapshot["others"], "a session state's others")
