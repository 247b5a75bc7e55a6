"""Shared fixtures for the whole suite."""

from __future__ import annotations

import pytest

from restricted_exec import Policy, Sandbox


@pytest.fixture
def inline_sandbox() -> Sandbox:
    """A Sandbox running in the caller's thread (the language layer alone)."""
    with Sandbox(Policy(isolation="inline")) as sandbox:
        yield sandbox
