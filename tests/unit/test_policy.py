"""Policy: frozen, validated, comparable, and closed to modules outside the catalogue."""

from __future__ import annotations

import pytest

from restricted_exec import Policy, PolicyError
from restricted_exec.language.catalogue import CATALOGUE


def test_policy_is_frozen() -> None:
    policy = Policy()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        policy.timeout_s = 10  # type: ignore[misc]


def test_policies_with_the_same_settings_are_equal_and_share_a_digest() -> None:
    assert Policy(timeout_s=2) == Policy(timeout_s=2.0)
    assert Policy(timeout_s=2).digest() == Policy(timeout_s=2.0).digest()
    assert Policy(timeout_s=2).digest() != Policy(timeout_s=3).digest()


@pytest.mark.parametrize(
    "module", ["os", "subprocess", "sys", "importlib", "builtins", "json.decoder"]
)
def test_a_module_outside_the_catalogue_cannot_be_allowed_by_name(module: str) -> None:
    with pytest.raises(PolicyError, match="not in the reviewed catalogue"):
        Policy(modules={"math", "datetime", "json", module})


def test_preload_must_be_allowed() -> None:
    with pytest.raises(PolicyError, match="preload"):
        Policy(modules={"math"}, preload=("math", "json"))


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout_s": 0},
        {"timeout_s": -1},
        {"memory_mb": 1},
        {"output_bytes": -1},
        {"isolation": "thread"},
        {"unknown_knob": 1},
    ],
    ids=[
        "zero-timeout",
        "negative-timeout",
        "tiny-memory",
        "negative-output",
        "bad-isolation",
        "unknown-setting",
    ],
)
def test_invalid_settings_raise_policy_error(settings: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        Policy(**settings)


def test_policy_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        Policy(timeout_s=0)


def test_replace_validates_like_a_new_policy() -> None:
    assert Policy().replace(timeout_s=1).timeout_s == 1
    with pytest.raises(PolicyError):
        Policy().replace(modules={"os"})


def test_default_policy_allows_the_whole_catalogue() -> None:
    assert Policy().modules == frozenset(CATALOGUE)
    assert Policy().preload == ("math", "datetime", "json")
