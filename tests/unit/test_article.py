"""The article's drop-in, compared with the article's own recipe run for real, over the
article's examples and a corpus of calculation programs."""

from __future__ import annotations

import shlex
import subprocess
import sys
from typing import Any

import pytest

from benchmarks import corpus
from restricted_exec.article import execute_python_sandbox


def article_recipe(code: str, timeout: float = 3, memory_limit_mb: int = 100) -> dict[str, Any]:
    """The recipe the article shipped: bash, ulimit -v, python3 -c, a timeout; its dict with
    the stripped stdout, and no return code on a timeout (the oracle)."""
    command = f"ulimit -v {memory_limit_mb * 1024}; {sys.executable} -c {shlex.quote(code)}"
    try:
        completed = subprocess.run(
            ["/bin/bash", "-c", command], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"success": False, "output": "", "error": "(timed out)", "return_code": None}
    return {
        "success": completed.returncode == 0,
        "output": completed.stdout.strip(),
        "error": completed.stderr,
        "return_code": completed.returncode,
    }


def assert_same_as_the_article(code: str) -> None:
    ours, theirs = execute_python_sandbox(code), article_recipe(code)
    assert ours.keys() == theirs.keys() == {"success", "output", "error", "return_code"}
    assert (ours["success"], ours["output"], ours["return_code"]) == (
        theirs["success"],
        theirs["output"],
        theirs["return_code"],
    )
    # On failure both end with the same exception line; on success both are empty.
    assert ours["error"].strip().splitlines()[-1:] == theirs["error"].strip().splitlines()[-1:]


ARTICLE_EXAMPLES = {
    "compound_interest": (
        "principal = 3000\nrate = 0.05\nyears = 5\n"
        "balance = 0\nfor month in range(years * 12):\n"
        "    balance = (balance + principal) * (1 + rate / 12)\n"
        "print(f'After {years} years: {balance:,.2f}')\n"
    ),
    "list_statistics": (
        "data = [12, 7, 3, 21, 9]\nmean = sum(data) / len(data)\n"
        "print('mean', mean, 'max', max(data), 'sorted', sorted(data))\n"
    ),
    "zero_division": "print('before')\nx = 1 / 0\n",
    "name_error": "print(undefined_name)\n",
    "value_error": "int('twelve')\n",
}


@pytest.mark.parametrize("code", ARTICLE_EXAMPLES.values(), ids=ARTICLE_EXAMPLES.keys())
def test_same_keys_success_output_and_return_code_as_the_article(code: str) -> None:
    assert_same_as_the_article(code)


CORPUS = [
    *((name, corpus.PRELUDE + source) for name, source in corpus.BUNDLED.items()),
    *((program.id, program.source) for program in corpus.load(limit=40)),
]


@pytest.mark.parametrize("code", [code for _, code in CORPUS], ids=[name for name, _ in CORPUS])
def test_the_corpus_gives_the_articles_dict(code: str) -> None:
    assert_same_as_the_article(code)


def test_output_is_stripped_as_the_article_strips_it() -> None:
    code = "print()\nprint('  padded  ')\nprint()\n"
    assert execute_python_sandbox(code)["output"] == article_recipe(code)["output"] == "padded"


def test_a_hang_times_out_like_the_article() -> None:
    ours = execute_python_sandbox("while True:\n    pass\n", timeout=0.5)
    theirs = article_recipe("while True:\n    pass\n", timeout=0.5)
    assert (ours["success"], ours["output"], ours["return_code"]) == (False, "", None)
    assert (theirs["success"], theirs["output"], theirs["return_code"]) == (False, "", None)
    assert ours["error"] == "Execution timed out after 0.5 seconds"


def test_a_memory_bomb_fails_with_memory_error_like_the_article() -> None:
    code = "x = bytearray(400 * 1024 * 1024)\nprint(len(x))\n"
    ours, theirs = execute_python_sandbox(code), article_recipe(code)
    assert (ours["success"], ours["return_code"]) == (theirs["success"], theirs["return_code"])
    assert ours["error"].startswith("MemoryError") and "MemoryError" in theirs["error"]


def test_what_the_article_allowed_and_we_refuse_is_a_clear_failure() -> None:
    result = execute_python_sandbox("import os\nprint(os.environ)")
    assert result["success"] is False and result["return_code"] == 1
    assert result["output"] == ""
    assert "`os` is not an allowed module" in result["error"]


def test_a_syntax_error_reads_like_pythons() -> None:
    result = execute_python_sandbox("print(")
    assert result["success"] is False and result["return_code"] == 1
    assert result["error"].startswith("SyntaxError: ")
