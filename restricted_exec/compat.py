"""The first name of :mod:`restricted_exec.article`, kept so that existing imports work."""

from __future__ import annotations

from restricted_exec.article import as_article_dict, execute_python_sandbox

__all__ = ["as_article_dict", "execute_python_sandbox"]
