"""The package's public surface: complete, sorted, importable."""

from __future__ import annotations

import restricted_exec


def test_all_is_sorted_and_complete() -> None:
    exported = restricted_exec.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name in vars(restricted_exec)
        if not name.startswith("_")
        and name not in {"annotations"}
        and not isinstance(getattr(restricted_exec, name), type(restricted_exec))
    }
    assert public <= set(exported), f"exported but missing from __all__: {public - set(exported)}"
    for name in exported:
        assert hasattr(restricted_exec, name), name


def test_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("restricted_exec").joinpath("py.typed").is_file()
