"""ExecutionResult and ErrorInfo: how a run ended, as data that round-trips through JSON.

``value`` holds Python values (Decimal stays Decimal); in JSON it is written in
the tagged form described in :mod:`restricted_exec.language.values`, so
``ExecutionResult.model_validate_json(r.model_dump_json()) == r``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationInfo,
    computed_field,
    field_serializer,
    field_validator,
)

from restricted_exec import errors
from restricted_exec.child.protocol import ErrorKind, Status
from restricted_exec.language.values import decode, encode

__all__ = ["ErrorInfo", "ErrorKind", "ExecutionResult", "Status", "Violation", "value_repr"]


class Violation(BaseModel):
    """One reason the compiler refused the program."""

    model_config = ConfigDict(frozen=True)

    line: int | None
    column: int | None
    message: str


class ErrorInfo(BaseModel):
    """Why a run did not end with ``ok``.

    Attributes:
        kind: the phase or limit that ended the run.
        type: the exception's type name (``ZeroDivisionError``), or a name for the limit.
        message: the exception's message, or a sentence about the limit.
        line: the line of the program where it happened, if known.
        traceback: a traceback restricted to the program's own frames.
        violations: every violation, for ``syntax_error`` and ``policy_violation``.
    """

    model_config = ConfigDict(frozen=True)

    kind: ErrorKind
    type: str
    message: str
    line: int | None = None
    traceback: str = ""
    violations: tuple[Violation, ...] = ()


_MAX_SERIALISED_ITEMS = 1 << 62

_EXCEPTION_FOR_STATUS: dict[str, type[errors.ExecutionError]] = {
    "error": errors.ProgramError,
    "syntax_error": errors.ProgramSyntaxError,
    "policy_violation": errors.PolicyViolationError,
    "timeout": errors.ExecutionTimeout,
    "memory_limit": errors.MemoryLimitExceeded,
    "output_limit": errors.OutputLimitExceeded,
    "crashed": errors.SandboxCrashed,
    "rejected": errors.RunRejected,
}


def value_repr(value: Any) -> str:
    """``repr(value)``, except that an int too long for CPython's int-to-text limit (and a
    Fraction or container holding one) is shown by its size instead of raising ValueError."""
    return repr(_ReprSafe(value))


class _ReprSafe:
    """A value whose repr shows an int too long for CPython's int-to-text limit by its size."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def __repr__(self) -> str:
        try:
            return repr(self._value)
        except ValueError:
            return repr(_summarised(self._value))


class _IntSummary:
    __slots__ = ("_bits",)

    def __init__(self, bits: int) -> None:
        self._bits = bits

    def __repr__(self) -> str:
        return f"<int of {self._bits:,} bits>"


def _summarised(value: Any) -> Any:
    """``value`` with every int (and Fraction part) past the digit limit replaced by a summary."""
    if type(value) is int and value.bit_length() > _REPR_INT_BITS:
        return _IntSummary(value.bit_length())
    if type(value) is Fraction:
        numerator, denominator = _summarised(value.numerator), _summarised(value.denominator)
        return _Text(f"Fraction({numerator!r}, {denominator!r})")
    if type(value) is list:
        return [_summarised(item) for item in value]
    if type(value) is dict:
        return {_summarised(key): _summarised(item) for key, item in value.items()}
    return value


class _Text:
    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


# A little under CPython's default int-to-text limit (4,300 digits ~ 14,284 bits).
_REPR_INT_BITS = 14_000


class ExecutionResult(BaseModel):
    """How one run ended.

    Attributes:
        status: ``ok`` or the reason it is not.
        stdout: everything the program printed (up to ``output_bytes``).
        stdout_truncated: True if output was cut at ``output_bytes``.
        value: the value of the program's final expression statement, like a
            REPL (None if there is none): JSON types, Decimal, Fraction,
            datetime/date/time/timedelta; tuples and sets arrive as lists.
        error: why the run did not succeed, or None.
        duration_ms: wall-clock milliseconds from the caller's point of view.
        cpu_ms: CPU milliseconds the program's process used (process mode).
        peak_rss_kb: the program's process's peak resident memory (process mode).
        timeout_kind: ``wall`` or ``cpu`` when status is ``timeout``.
        signal: the signal's name when status is ``crashed`` by a signal.
        code_sha256: sha256 of the program's source.
        isolation: where the program ran.
        layers: the isolation layers that were active.
        cache_hit: True if this result was served from the Sandbox's result cache
            (deterministic policies only) instead of running the program again;
            then ``duration_ms`` is this call's, the rest is the stored run's.
        state_restored: a session's run that started on a new child, with the session's
            state made again from the last run its old child survived (see
            ``Session.unrestored`` for what could not be).
    """

    model_config = ConfigDict(frozen=True)

    status: Status
    stdout: str = ""
    stdout_truncated: bool = False
    value: Any = None
    error: ErrorInfo | None = None
    duration_ms: float = 0.0
    cpu_ms: float | None = None
    peak_rss_kb: int | None = None
    timeout_kind: Literal["wall", "cpu"] | None = None
    signal: str | None = None
    code_sha256: str = ""
    isolation: Literal["process", "inline"] = "process"
    layers: tuple[str, ...] = ()
    cache_hit: bool = False
    state_restored: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when status is ``ok``."""
        return self.status == "ok"

    @field_serializer("value", when_used="json")
    def _value_as_tagged_json(self, value: Any) -> Any:
        # The run's policy bounded the value's items when it was made (at most
        # Policy.max_value_items' own maximum); serialising must not refuse what it allowed.
        return encode(value, max_items=_MAX_SERIALISED_ITEMS)

    @field_validator("value", mode="before")
    @classmethod
    def _value_from_tagged_json(cls, value: Any, info: ValidationInfo) -> Any:
        # Python-mode construction receives Python values; only JSON is tagged.
        return decode(value) if info.mode == "json" else value

    def __repr_args__(self) -> Any:
        # repr() of an int past CPython's digit limit raises ValueError: a result holding
        # 10**5000 could not be printed or logged (red-team round 12).
        for name, field_value in super().__repr_args__():
            yield name, (_ReprSafe(field_value) if name == "value" else field_value)

    def raise_for_status(self) -> ExecutionResult:
        """Return self if ``ok``; otherwise raise the matching ExecutionError subclass."""
        if self.status == "ok":
            return self
        raise _EXCEPTION_FOR_STATUS[self.status](self)

    def summary(self) -> str:
        """One line for people: the status and, if any, the error."""
        if self.error is None:
            return self.status
        where = f" (line {self.error.line})" if self.error.line else ""
        return f"{self.status}: {self.error.type}: {self.error.message}{where}"


def mark_state_restored(result: ExecutionResult) -> None:
    """Set ``state_restored`` on a session's result that no one else holds yet (as
    ``stamp_duration``)."""
    object.__setattr__(result, "state_restored", True)
    result.__pydantic_fields_set__.add("state_restored")


def stamp_duration(result: ExecutionResult, duration_ms: float) -> None:
    """Set ``duration_ms`` on a result made for the run that is ending, which no one else holds
    yet: the Sandbox's one write to a frozen result, where the run path knows its end (a
    ``model_copy`` would cost every run a second result)."""
    object.__setattr__(result, "duration_ms", duration_ms)
    result.__pydantic_fields_set__.add("duration_ms")  # as if it had been passed: it was set
