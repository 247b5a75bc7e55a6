"""Policy: what a run may use and how much of it. Frozen, keyword-only, comparable.

Limits carry their units in their names. A Policy is passed down to every
layer; nothing reads process globals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from restricted_exec.errors import PolicyError
from restricted_exec.language.catalogue import CATALOGUE, DEFAULT_MODULES, DEFAULT_PRELOAD
from restricted_exec.language.compiler import CompileSettings

__all__ = ["CLOCK_MODULES", "Isolation", "Policy"]

CLOCK_MODULES: frozenset[str] = frozenset({"time"})
"""Catalogue modules whose purpose is reading the clock: never in a deterministic policy."""

Isolation = Literal["process", "inline"]


class Policy(BaseModel):
    """Limits and permissions of a run.

    Attributes:
        timeout_s: wall-clock seconds the program may run.
        cpu_time_s: CPU seconds the program may use (process mode); None means
            the same as ``timeout_s``.
        memory_mb: megabytes the program may allocate on top of the
            interpreter's own baseline (process mode; inline mode cannot limit memory).
        output_bytes: bytes of stdout kept; more ends the run with ``output_limit``.
            An error's text is capped separately and whatever this is (see
            ``restricted_exec.child.executor.ERROR_MESSAGE_BYTES``), so a run with 0 still says
            why it failed and no exception message carries more than that cap.
        max_source_bytes: largest program accepted, in bytes of UTF-8. The
            compiler runs in the caller's process, outside ``timeout_s`` and
            ``memory_mb``, at up to ~3.5 ms and ~0.7 MB of transient memory per KB
            of hostile source: the 64 KiB default bounds that to ~0.25 s.
        max_value_items: most items (scalars and containers) the final value may hold.
        modules: catalogue modules the program may import.
        preload: modules bound as globals before the program starts.
        isolation: ``"process"`` (a fresh locked-down child per run) or
            ``"inline"`` (the caller's thread, with the language layer as the only
            boundary: one hole in it is code execution as the caller's process; never
            use it for untrusted code).
        allow_degraded: process mode only - run even where seccomp or Landlock is
            unavailable, listing the active layers in the result, instead of failing closed.
        max_host_calls: most calls of host functions (``functions=``) one run may make; one
            more stops the run with ``policy_violation``.
        host_call_bytes: most bytes of JSON a host function's arguments, or its result, may
            take; larger arguments raise ValueError in the program, a larger result reaches it
            as a ValueError.
        deterministic: the same code, inputs and policy give the same result, by
            construction: no clock reads (``time`` is not importable; ``date.today``,
            ``datetime.now``/``utcnow`` are refused), ``random`` starts from a fixed
            seed, no OS entropy (``SystemRandom``, ``NormalDist.samples``). Results of
            such runs may be served from the Sandbox's result cache.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=5.0, gt=0, le=3600)
    cpu_time_s: float | None = Field(default=None, gt=0, le=3600)
    memory_mb: int = Field(default=256, ge=16, le=65536)
    output_bytes: int = Field(default=1_000_000, ge=0, le=1 << 30)
    max_source_bytes: int = Field(default=65_536, ge=1, le=1 << 30)
    max_value_items: int = Field(default=100_000, ge=1, le=10_000_000)
    modules: frozenset[str] = DEFAULT_MODULES
    preload: tuple[str, ...] = DEFAULT_PRELOAD
    isolation: Isolation = "process"
    allow_degraded: bool = False
    deterministic: bool = False
    max_host_calls: int = Field(default=1_000, ge=0, le=10_000_000)
    host_call_bytes: int = Field(default=1_000_000, ge=1_024, le=64 << 20)

    def __init__(self, **settings: object) -> None:
        try:
            super().__init__(**settings)
        except ValidationError as error:
            raise PolicyError(_readable(error)) from None

    @field_validator("modules", mode="before")
    @classmethod
    def _known_modules(cls, value: object) -> frozenset[str]:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError("modules must be a collection of module names")
        names = frozenset(value)
        unknown = sorted(str(name) for name in names if name not in CATALOGUE)
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} not in the reviewed catalogue; a module cannot be "
                f"allowed by name alone. Catalogue: {', '.join(sorted(CATALOGUE))}"
            )
        return names

    @model_validator(mode="before")
    @classmethod
    def _deterministic_modules(cls, settings: object) -> object:
        # A deterministic policy with the default module set gets it without the
        # clock (so Policy().replace(deterministic=True) works); one that names
        # `time` in a set of its own is refused below.
        if isinstance(settings, dict) and settings.get("deterministic") is True:
            modules = settings.get("modules", DEFAULT_MODULES)
            if isinstance(modules, Iterable) and frozenset(modules) == DEFAULT_MODULES:
                return {**settings, "modules": DEFAULT_MODULES - CLOCK_MODULES}
        return settings

    @model_validator(mode="after")
    def _deterministic_has_no_clock(self) -> Policy:
        clocks = sorted(self.modules & CLOCK_MODULES)
        if self.deterministic and clocks:
            raise ValueError(
                f"a deterministic policy cannot allow {', '.join(clocks)}: it reads the clock"
            )
        return self

    @model_validator(mode="after")
    def _preload_is_allowed(self) -> Policy:
        missing = [name for name in self.preload if name not in self.modules]
        if missing:
            raise ValueError(f"preload names modules the policy does not allow: {missing}")
        return self

    @property
    def effective_cpu_time_s(self) -> float:
        return self.timeout_s if self.cpu_time_s is None else self.cpu_time_s

    def compile_settings(self) -> CompileSettings:
        """What the compiler needs to know of this policy."""
        return CompileSettings(
            modules=self.modules,
            preload=self.preload,
            max_source_bytes=self.max_source_bytes,
            deterministic=self.deterministic,
            thread_bound=self.isolation == "inline",
        )

    def digest(self) -> str:
        """A sha256 of the canonical JSON of this policy (for caches and audit)."""
        canonical = self.model_dump_json(round_trip=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def replace(self, **changes: object) -> Policy:
        """A copy with some settings changed (validated like a new Policy)."""
        merged = {**self.model_dump(), **changes}
        return Policy(**merged)


def _readable(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "policy"
        problems.append(f"{where}: {item['msg']}")
    return "invalid Policy - " + "; ".join(problems)
