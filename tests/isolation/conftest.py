"""Fixtures for the isolation tests: one unrestricted-test runner per module; slow tests opt-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Long soak runs only when selected explicitly: pytest -m slow tests/isolation
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def runner() -> Iterator[UnrestrictedRunner]:
    with UnrestrictedRunner(prefork=2) as r:
        yield r
