"""API keys: each names a tenant. Only their SHA-256 digests are stored, so a leaked key file
or config map gives nobody a key."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["KEYS_ENVIRONMENT_VARIABLE", "ApiKey", "ApiKeys", "KeyEntry", "hash_key"]

KEYS_ENVIRONMENT_VARIABLE = "RESTRICTED_EXEC_API_KEYS"
"""Where the keys come from when no file is named: the same JSON as a keys file."""


def hash_key(key: str) -> str:
    """The digest a keys file stores for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyEntry(BaseModel):
    """One key in a keys file: ``{"id": "k1", "tenant": "acme", "sha256": "<hex digest>"}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    tenant: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _KeysFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: list[KeyEntry]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """Who a request is: the key's id (for the audit log) and its tenant."""

    key_id: str
    tenant: str


class ApiKeys:
    """The keys a service accepts."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        self._by_digest = {entry.sha256: ApiKey(entry.id, entry.tenant) for entry in entries}
        if len(self._by_digest) != len(entries):
            raise ValueError("two keys have the same digest")
        # The id names the key in the audit log and, under child_reuse per caller, is a trust
        # domain: two keys must never share one.
        if len({entry.id for entry in entries}) != len(entries):
            raise ValueError("two keys have the same id")

    @classmethod
    def load(cls, path: Path | None) -> ApiKeys:
        """From ``path``, else from the environment variable; ValueError if neither holds
        valid keys."""
        if path is not None:
            text = path.read_text(encoding="utf-8")
            origin = str(path)
        else:
            text = os.environ.get(KEYS_ENVIRONMENT_VARIABLE, "")
            origin = KEYS_ENVIRONMENT_VARIABLE
            if not text:
                raise ValueError(
                    f"no API keys: name a keys file (api_keys_file) or set "
                    f"{KEYS_ENVIRONMENT_VARIABLE}, or allow anonymous use explicitly"
                )
        try:
            entries = _KeysFile.model_validate(json.loads(text)).keys
        except (ValueError, ValidationError) as problem:
            raise ValueError(f"{origin}: not a keys file: {problem}") from None
        return cls(entries)

    def find(self, key: str) -> ApiKey | None:
        return self._by_digest.get(hash_key(key))
