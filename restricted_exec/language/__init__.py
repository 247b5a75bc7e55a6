"""The language layer: source to checked code, and everything a program can reach.

The compiler (RestrictedPython plus our rewrites and ``attribute_rules``) turns source into a
code object; the guards, safe builtins, module proxies and catalogue decide what that code may
touch at run time; ``values`` and ``text`` define what may cross the boundary as data.

It runs in the child (and, for compiling, in the caller's process). It imports only the
standard library, RestrictedPython and wrapt: never pydantic, ``child``, ``isolation``,
``host`` or the public API (the import-linter contracts in ``pyproject.toml`` check this).
"""
