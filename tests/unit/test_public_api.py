"""The package's public surface: complete, sorted, importable, and light to import."""

from __future__ import annotations

import subprocess
import sys

import restricted_exec


def test_all_is_sorted_and_every_name_resolves() -> None:
    exported = restricted_exec.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert getattr(restricted_exec, name) is not None, name


def test_every_lazily_exported_name_is_in_all() -> None:
    eager = set(restricted_exec.errors.__all__)
    assert set(restricted_exec._LAZY) | eager | {"__version__"} == set(restricted_exec.__all__)
    assert dir(restricted_exec) == sorted(restricted_exec.__all__)


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        restricted_exec.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_the_child_side_imports_without_pydantic() -> None:
    # The fork server preloads restricted_exec.child.executor; keeping pydantic out of
    # it keeps the process small, and fork and exit cheap.
    code = "import sys, restricted_exec.child.executor; print('pydantic' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.strip() == "False"


def test_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("restricted_exec").joinpath("py.typed").is_file()


def test_the_documented_submodules_keep_their_public_names() -> None:
    # The package moved into layers; what users import from these paths stays.
    import restricted_exec.audit as audit
    import restricted_exec.compat as compat
    import restricted_exec.metrics as metrics

    for module in (audit, metrics):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None, (module.__name__, name)
    assert {"AuditLog", "AuditDatabase", "SQLAlchemySink", "SQLiteSink"} <= set(audit.__all__)
    assert {"Metrics", "SandboxStats", "register_prometheus"} <= set(metrics.__all__)
    assert callable(compat.execute_python_sandbox)
