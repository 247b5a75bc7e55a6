"""Give the fork server a ``wrapt`` that holds only the object proxies the runtime uses.

``import wrapt`` runs wrapt's package ``__init__``, which (wrapt 2.x) also imports its
decorator, patching and synchronisation helpers and with them asyncio, ssl, subprocess, logging,
importlib.metadata, email, zipfile, bz2 and lzma: dozens of modules and megabytes of heap that
no child ever uses. The fork server is forked for every run, and fork and exit cost grows with
the heap whose page tables they copy and tear down (docs/performance.md). The runtime needs one
class, ``wrapt.BaseObjectProxy``, defined in ``wrapt.__wrapt__`` (the C extension, or its
pure-Python twin).

Only the fork server calls this, once, before anything imports wrapt; the host and inline mode
import wrapt normally. If the installed wrapt is laid out differently, the whole package is
imported instead, as before: slower forks, same behaviour.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def install() -> bool:
    """Put a ``wrapt`` package holding only ``BaseObjectProxy`` in ``sys.modules``.

    Returns whether it did; False if wrapt was already imported or its layout is unfamiliar.
    """
    if "wrapt" in sys.modules:
        return False
    spec = importlib.util.find_spec("wrapt")
    if spec is None or spec.submodule_search_locations is None:
        return False
    # The package module with its __path__ set but its __init__ never run, so that importing
    # the submodule below finds wrapt's files without running the rest of the package.
    package = importlib.util.module_from_spec(spec)
    sys.modules["wrapt"] = package
    try:
        core = importlib.import_module("wrapt.__wrapt__")
        package.BaseObjectProxy = core.BaseObjectProxy  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        for name in [name for name in sys.modules if name.partition(".")[0] == "wrapt"]:
            del sys.modules[name]
        return False
    return True
