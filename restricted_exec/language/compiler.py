"""Source text -> code object, through RestrictedPython and our transformer subclass.

The transformer keeps every check RestrictedPython makes (default-deny for AST
nodes nobody reviewed, underscore names, guard-hook shadowing, ``except*``,
lazy imports, ...) and changes what it *generates*, so that guards sit only
where a rule can fail:

=====================================  =========================================
source                                 compiled as
=====================================  =========================================
``a.b`` (ordinary name)                ``a.b`` - no rule depends on the object
``a.format`` / ``a.format_map``        ``_getattr_(a, "format")`` - safe formatter
``a.obj``                              ``_getattr_(a, "obj")`` - AttributeError.obj
``a._b``                               ``_private_(a, "_b")._b`` - own objects only
``a.__init__`` (special methods)       ``_special_(a, "__init__").__init__`` - own objects,
                                       ``super()`` of own objects, builtin classes
``a.b = v`` / ``del a.b``              ``_write_(a).b = v`` - own objects only
``a[i]``, ``a[i] = v``, ``a[i] += v``  unchanged - item access has no rule
``n += 1``                             unchanged
``for x in it``                        ``for x in _getiter_(it)``
``with cm as x:``                      ``with _rx_with_(cm) as x:`` - no traceback to __exit__
``yield from x``                       ``yield from _rx_delegate_(x)`` - an own delegate's
                                       ``close``/``throw``/``send`` check the run first
``class C(B): ...``                    ``class C(B, metaclass=__metaclass__)``
``def f(): body`` / ``lambda: e``      first ``_rx_run_.on or _rx_outside_()`` - runs only
                                       inside its own run (``(that) and e`` for a lambda)
``except E:`` / ``finally:`` blocks    first ``_rx_check_()`` - inline timeouts, ended runs;
                                       ``E`` itself as ``(run test) and E``
``(e for x in it)``                    each loop also ``if (run test)`` - lazy, like a function
``math.sqrt`` (preloaded, not rebound)  ``_rx_math__sqrt_`` - bound to the proxy's value
last expression statement ``e``        ``_rx_value_(e)`` - the REPL-like result
=====================================  =========================================

Dunder reads other than a short reviewed list, frame/code/generator internals,
and dunder writes are compile-time violations. Imports of modules outside the
policy's set are found here, before anything runs.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, TypeVar

from RestrictedPython.transformer import FORBIDDEN_FUNC_NAMES, RestrictingNodeTransformer

from restricted_exec.language.attribute_rules import (
    DEFINABLE_DUNDER_METHODS,
    NONDETERMINISTIC_READS,
    READABLE_DUNDERS,
    RUNTIME_CHECKED,
    is_hook_like,
    is_private,
    is_special_method,
    read_denial,
    write_denial,
)
from restricted_exec.language.catalogue import CATALOGUE, denial_reason
from restricted_exec.language.ownership import PROGRAM_FILENAME
from restricted_exec.language.safe_builtins import DENIED as DENIED_BUILTINS

__all__ = [
    "MAX_VIOLATIONS",
    "PROGRAM_FILENAME",
    "CompileOutcome",
    "CompileSettings",
    "Violation",
    "compile_source",
    "hoisted_global_name",
    "source_digest",
]


MAX_VIOLATIONS = 100
"""Most violations a refused program's outcome lists; the rest are counted in a last one."""

VALUE_HOOK = "_rx_value_"
CHECK_HOOK = "_rx_check_"
# Every function and lambda starts with `_rx_run_.on or _rx_outside_()` (in a child, whose one
# thread runs only this program), or `_rx_run_.__dict__ or _rx_outside_()` (inline, where
# `_rx_run_` is thread-local and only `__dict__` is read without a comparison that would move
# a RecursionError): program code runs only inside its own run, never after it nor in another
# thread (runtime._Presence).
RUN_HOOK = "_rx_run_"
OUTSIDE_HOOK = "_rx_outside_"
WITH_HOOK = "_rx_with_"
DELEGATE_HOOK = "_rx_delegate_"
_HOIST_PREFIX = "_rx_"


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing in the source that the policy refuses (or a syntax error)."""

    line: int | None
    column: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CompileSettings:
    """What the compiler needs to know of the policy."""

    modules: frozenset[str]
    preload: tuple[str, ...]
    max_source_bytes: int
    deterministic: bool = False
    # Inline runs share the process with other threads: each function's run check is then
    # per thread (see RUN_HOOK), which costs a little more than a child's.
    thread_bound: bool = False


@dataclass(frozen=True, slots=True)
class CompileOutcome:
    """The result of compiling: a code object, or why there is none."""

    code: CodeType | None
    source_sha256: str
    kind: str  # "ok" | "syntax_error" | "policy_violation"
    violations: tuple[Violation, ...] = ()
    hoisted: tuple[tuple[str, str], ...] = field(default=())


def hoisted_global_name(module: str, attribute: str) -> str:
    """The global name a hoisted ``module.attribute`` read is compiled to. It ends in ``_``,
    as no name a program writes may: CPython mangles ``__sqrt`` inside ``class rx_math`` to
    ``_rx_math__sqrt``, which a program could otherwise rebind (red-team round 14)."""
    return f"{_HOIST_PREFIX}{module}__{attribute}_"


def source_digest(source: str) -> tuple[str, int]:
    """sha256 (hex) and size in bytes of the UTF-8 source (lone surrogates kept)."""
    encoded = source.encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest(), len(encoded)


def compile_source(source: str, settings: CompileSettings) -> CompileOutcome:
    """Compile untrusted source; never raises for anything the source contains.

    Args:
        source: the program text.
        settings: allowed modules, preloaded modules and the source size limit.

    Returns:
        A CompileOutcome whose ``kind`` is ``ok``, ``syntax_error`` or
        ``policy_violation``; every violation is reported, each with its line
        and column.
    """
    digest, size = source_digest(source)
    if size > settings.max_source_bytes:
        message = (
            f"the program is {size:,} bytes; the policy allows at most "
            f"{settings.max_source_bytes:,} (max_source_bytes)"
        )
        return CompileOutcome(None, digest, "policy_violation", (Violation(None, None, message),))
    try:
        tree = ast.parse(source, PROGRAM_FILENAME, "exec")
    except SyntaxError as error:
        return CompileOutcome(None, digest, "syntax_error", (_syntax_violation(error),))
    except (ValueError, MemoryError, RecursionError) as error:
        return CompileOutcome(None, digest, "syntax_error", (_nesting_violation(error),))
    try:
        return _transform_and_compile(tree, digest, settings)
    except SyntaxError as error:
        return CompileOutcome(None, digest, "syntax_error", (_syntax_violation(error),))
    except (RecursionError, MemoryError, ValueError) as error:
        # A 5,000-term `1+1+...` chain recurses past Python's limit in the
        # transformer; we report it instead of raising the limit, which would
        # let hostile source overflow the C stack of the caller's process.
        return CompileOutcome(None, digest, "policy_violation", (_nesting_violation(error),))


def _syntax_violation(error: SyntaxError) -> Violation:
    return Violation(error.lineno, error.offset, error.msg)


def _nesting_violation(error: BaseException) -> Violation:
    if isinstance(error, ValueError):
        return Violation(None, None, str(error))
    return Violation(
        None, None, "the program is nested too deeply to compile safely; simplify the expression"
    )


def _transform_and_compile(
    tree: ast.Module, digest: str, settings: CompileSettings
) -> CompileOutcome:
    names = _scan_names(tree, settings.preload)
    if names.scopes > MAX_SCOPES:
        message = (
            f"the program defines {names.scopes:,} functions, lambdas, classes and "
            f"comprehensions; at most {MAX_SCOPES:,} are allowed"
        )
        return CompileOutcome(None, digest, "policy_violation", (Violation(None, None, message),))
    if names.keywords > MAX_KEYWORDS:
        message = (
            f"a call, class statement or class pattern has {names.keywords:,} keyword "
            f"arguments; at most {MAX_KEYWORDS} are allowed"
        )
        return CompileOutcome(None, digest, "policy_violation", (Violation(None, None, message),))
    if names.finally_blocks and _emitted_nodes(tree, MAX_EMITTED_NODES) > MAX_EMITTED_NODES:
        message = (
            "the program's `finally` blocks would be compiled too many times over (CPython "
            "copies each once per way out of its `try`, so nesting them doubles the code at "
            "every level); nest fewer of them"
        )
        return CompileOutcome(None, digest, "policy_violation", (Violation(None, None, message),))
    if names.captures > MAX_PATTERN_CAPTURES:
        message = (
            f"a case pattern binds {names.captures:,} names; at most {MAX_PATTERN_CAPTURES} "
            "are allowed (compiling more costs time and memory that grow with their square)"
        )
        return CompileOutcome(None, digest, "policy_violation", (Violation(None, None, message),))
    # A tree cannot be deeper than it has nodes: most programs skip the depth walk.
    if names.nodes > MAX_NESTING and _deeper_than(tree, MAX_NESTING):
        message = (
            f"the program nests more than {MAX_NESTING} levels deep (a long chain of operators "
            "or calls counts one level a link); split the expression"
        )
        return CompileOutcome(None, digest, "policy_violation", (Violation(None, None, message),))
    # Preloaded modules the program reads attributes of and never rebinds.
    stable_preloads = frozenset(
        name
        for name in settings.preload
        if name in names.attribute_bases and name not in names.rebinding
    )
    transformer = ProgramTransformer(settings, set(names.bound))
    transformer.visit(tree)
    if transformer.violations:
        if transformer.unlisted_violations:
            more = f"and {transformer.unlisted_violations:,} more violations (not listed)"
            transformer.violations.append(Violation(None, None, more))
        return CompileOutcome(None, digest, "policy_violation", tuple(transformer.violations))
    used = _hoist_preloads(tree, stable_preloads)
    code = compile(tree, PROGRAM_FILENAME, "exec", dont_inherit=True)
    return CompileOutcome(code, digest, "ok", (), tuple(sorted(used)))


_Node = TypeVar("_Node", bound=ast.AST)
_LOCATION_FIELDS = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _located(new: _Node, like: ast.AST) -> _Node:
    """Give a generated node and its generated children the location of ``like``.

    (ast.fix_missing_locations would do it, but it recurses over the whole
    tree, and a long ``a + b + ...`` chain would exhaust Python's stack.)
    """
    values = [getattr(like, field, None) for field in _LOCATION_FIELDS]
    # Only the generated nodes lack a location; the program's subtrees under them have one
    # and are not entered (walking them made wrapping each of n nested reads cost O(n)).
    stack: list[ast.AST] = [new]
    node_type = ast.AST
    while stack:
        node = stack.pop()
        if "lineno" in node._attributes:
            if getattr(node, "lineno", None) is not None:
                continue
            for field, value in zip(_LOCATION_FIELDS, values, strict=True):
                setattr(node, field, value)
        for name in node._fields:
            child = getattr(node, name, None)
            if type(child) is list:
                stack.extend(item for item in child if isinstance(item, node_type))
            elif isinstance(child, node_type):
                stack.append(child)
    return new


class ProgramTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer with restricted_exec's code generation.

    Every ``visit_X`` here either narrows what RestrictedPython allows or keeps
    its check and emits a cheaper guard; AST nodes without a visitor stay
    denied by RestrictedPython's ``generic_visit``.
    """

    def __init__(self, settings: CompileSettings, program_names: set[str]) -> None:
        super().__init__()
        self.settings = settings
        self.program_names = program_names
        # Names read through _getattr_ so the runtime can judge what they find.
        self.runtime_checked = RUNTIME_CHECKED | (
            NONDETERMINISTIC_READS if settings.deterministic else frozenset()
        )
        self.violations: list[Violation] = []
        self._class_names: list[str] = []  # the enclosing class statements, for name mangling
        self.unlisted_violations = 0  # found past MAX_VIOLATIONS: only counted

    # -- traversal ---------------------------------------------------------
    #
    # The same traversal as ast.NodeVisitor.visit and ast.NodeTransformer.generic_visit (which
    # RestrictedPython reaches through node_contents_visit), without their per-node string
    # building and nested generators: together they were most of the transform's time.

    def visit(self, node: ast.AST) -> Any:
        """Call ``visit_<class name>`` (or the denying ``generic_visit``), looked up once per
        node class rather than per node."""
        key = (type(self), type(node))
        visitor = _VISITORS.get(key)
        if visitor is None:
            found = getattr(type(self), "visit_" + type(node).__name__, None)
            visitor = found if found is not None else type(self).generic_visit
            _VISITORS[key] = visitor
        return visitor(self, node)

    def node_contents_visit(self, node: _Node) -> _Node:
        """Visit every child of ``node`` and put back what each visit returns: a node replaces
        the child, None removes it, and (in a list) an iterable of nodes is spliced in."""
        node_type = ast.AST
        for field_name in node._fields:
            try:
                old_value = getattr(node, field_name)
            except AttributeError:
                continue
            if type(old_value) is list:
                new_values: list[Any] = []
                for value in old_value:
                    if isinstance(value, node_type):
                        value = self.visit(value)
                        if value is None:
                            continue
                        if not isinstance(value, node_type):
                            new_values.extend(value)
                            continue
                    new_values.append(value)
                old_value[:] = new_values
            elif isinstance(old_value, node_type):
                new_node = self.visit(old_value)
                if new_node is None:
                    delattr(node, field_name)
                else:
                    setattr(node, field_name, new_node)
        return node

    # -- reporting ---------------------------------------------------------

    def error(self, node: ast.AST, info: str) -> None:
        # A refusal is kept in the caller's compile cache and built in the caller's
        # process: a program of 16,000 violating lines must not cost 16,000 of each.
        if len(self.violations) >= MAX_VIOLATIONS:
            self.unlisted_violations += 1
            return
        line = getattr(node, "lineno", None)
        column = getattr(node, "col_offset", None)
        self.violations.append(Violation(line, None if column is None else column + 1, info))
        super().error(node, info)

    def inject_print_collector(self, node: ast.AST, position: int = 0) -> None:
        # print is an ordinary builtin writing to the run's single stdout, so
        # prints in every scope interleave exactly as in CPython.
        return None

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is None:
            return
        if (
            allow_magic_methods
            and name in DEFINABLE_DUNDER_METHODS
            and getattr(node, "col_offset", 0) != 0
        ):
            return
        if name.startswith("_") and name != "_":
            if is_private(name) and not is_hook_like(name):
                return  # `_balance`, `__secret`: private by convention, allowed
            self.error(
                node,
                f'"{name}" is an invalid name: names that start with "_" may not end with "_" '
                'or start with "_rx" or "_tmp" (reserved for the sandbox), and dunder names '
                "are reserved",
            )
        elif name.endswith("__roles__"):
            self.error(node, f'"{name}" is an invalid name because it ends with "__roles__"')
        elif name in FORBIDDEN_FUNC_NAMES:
            self.error(node, f'"{name}" is a reserved name and cannot be assigned')

    # -- names ---------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load):
            if node.id in ("print", "__name__"):
                return node
            if node.id == "printed":
                self.error(node, '"printed" is not supported; print() writes to stdout')
                return node
            reason = DENIED_BUILTINS.get(node.id)
            if reason is not None and node.id not in self.program_names:
                self.error(node, f"`{node.id}` is not available: {reason}")
                return node
        self.check_name(node, node.id)
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        for name in node.names:
            self.check_name(node, name)
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        for name in node.names:
            self.check_name(node, name)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """Walk a left-nested chain (``a + b + c + ...``) without recursing per term,
        so long sums compile as deep as CPython's own compiler allows."""
        spine: list[ast.BinOp] = []
        current: ast.expr = node
        while isinstance(current, ast.BinOp):
            spine.append(current)
            current = current.left
        result = self.visit(current)
        for binop in reversed(spine):
            binop.left = result
            binop.op = self.visit(binop.op)
            binop.right = self.visit(binop.right)
            result = binop
        return node

    # -- attributes ----------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        name = node.attr
        if isinstance(node.ctx, ast.Load):
            reason = read_denial(name)
            if reason is not None:
                self.error(node, reason)
            node = self.node_contents_visit(node)
            if name in READABLE_DUNDERS:
                return node
            if is_special_method(name):
                node.value = self._hook_call("_special_", node.value, ast.Constant(name))
                return node
            if is_private(name):
                node.value = self._hook_call(
                    "_private_", node.value, ast.Constant(self._mangled(name))
                )
                return node
            if name in self.runtime_checked:
                return self._hook_call("_getattr_", node.value, ast.Constant(name), like=node)
            return node
        reason = write_denial(name)
        if reason is not None:
            self.error(node, reason)
        node = self.node_contents_visit(node)
        node.value = self._hook_call("_write_", node.value)
        return node

    def _hook_call(self, hook: str, *args: ast.expr, like: ast.AST | None = None) -> ast.Call:
        call = ast.Call(func=ast.Name(hook, ast.Load()), args=list(args), keywords=[])
        return _located(call, like if like is not None else args[0])

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        # Item access carries no rule in restricted_exec: no reachable object
        # hands out shared state through __getitem__, and the catalogue exposes
        # no process-wide mutable container (tests/security walk the graph).
        return self.node_contents_visit(node)

    # -- statements ----------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        # Unpacking iterates in C, exactly as _getiter_ (= iter) would.
        return self.node_contents_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        """Annotated assignments (dataclass fields); the target is checked like any store."""
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        """``n += 1``, ``self.n += 1`` and ``counts[k] += 1`` compile natively.

        The attribute form checks the object once with ``_write_`` (own objects
        only), then CPython reads and writes the attribute on it; for a private name
        that read is checked too (``_private_``), as a read of ``self._n`` would be.
        """
        node = self.node_contents_visit(node)
        target = node.target
        if isinstance(target, ast.Attribute) and (
            target.attr in RUNTIME_CHECKED or target.attr in NONDETERMINISTIC_READS
        ):
            # CPython would read a.format natively, past the check _getattr_ makes of it.
            self.error(
                node,
                f'augmented assignment to ".{target.attr}" is not allowed: the name is '
                "checked each time it is read",
            )
            return node
        if isinstance(target, ast.Attribute) and is_private(target.attr):
            target.value = self._hook_call(
                "_private_", target.value, ast.Constant(self._mangled(target.attr))
            )
        return node

    def _mangled(self, name: str) -> str:
        """``name`` as CPython will compile it here: ``__x`` inside ``class C`` is ``_C__x``."""
        if not self._class_names or not name.startswith("__") or name.endswith("__"):
            return name
        owner = self._class_names[-1].lstrip("_")
        return f"_{owner}{name}" if owner else name

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        """Every handler first calls ``_rx_check_()``, so inline mode's timeout
        cannot be swallowed by ``except:`` or ``except BaseException:``. The type
        expression runs before the handler: ``except E:`` checks its run first
        (``except (test) and E:``): a suspended generator finalised after its run, in
        any thread, evaluates it when GeneratorExit arrives."""
        self.check_name(node, node.name)
        node = self.node_contents_visit(node)
        if node.type is not None:
            test = ast.BoolOp(op=ast.And(), values=[self._inside_its_run_test(), node.type])
            node.type = _located(test, node.type)
        node.body.insert(0, self._check_statement(node.body[0] if node.body else node))
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        """``yield from x`` delegates to ``_rx_delegate_(x)``: CPython calls the delegate's
        ``close``/``throw``/``send`` natively, even when the generator is finalised after its
        run, and an own object's may be any callable it was given."""
        node = self.node_contents_visit(node)
        node.value = self._hook_call(DELEGATE_HOOK, node.value)
        return node

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
        """A generator expression's body runs whenever it is next() called, which may be after
        its run or in another thread: each of its loops checks its run for every item."""
        result = super().visit_GeneratorExp(node)
        for generator in node.generators:
            generator.ifs.insert(0, _located(self._inside_its_run_test(), generator.iter))
        return result  # type: ignore[return-value]

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = self.node_contents_visit(node)
        if node.finalbody:
            # `finally: continue` would swallow inline mode's timeout.
            node.finalbody.insert(0, self._check_statement(node.finalbody[0]))
        return node

    def _check_statement(self, like: ast.AST) -> ast.stmt:
        check = ast.Expr(ast.Call(func=ast.Name(CHECK_HOOK, ast.Load()), args=[], keywords=[]))
        return _located(check, like)

    def _inside_its_run_test(self) -> ast.expr:
        """``_rx_run_.on or _rx_outside_()`` (``.__dict__`` inline): true inside the run, else
        raises."""
        attribute = "__dict__" if self.settings.thread_bound else "on"
        on = ast.Attribute(value=ast.Name(RUN_HOOK, ast.Load()), attr=attribute, ctx=ast.Load())
        outside = ast.Call(func=ast.Name(OUTSIDE_HOOK, ast.Load()), args=[], keywords=[])
        return ast.BoolOp(op=ast.Or(), values=[on, outside])

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        result = super().visit_Lambda(node)
        # `lambda: body` becomes `lambda: (test) and body`, which is body inside its run.
        test = ast.BoolOp(op=ast.And(), values=[self._inside_its_run_test(), node.body])
        node.body = _located(test, node.body)
        return result  # type: ignore[return-value]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        result = super().visit_FunctionDef(node)
        # Program code runs only inside its own run: the first statement (after a docstring)
        # checks it, before any of the body can run in another thread or after the run.
        position = 1 if ast.get_docstring(node) is not None else 0
        # (A body the transformer emptied, refusing what was in it, is located at the def.)
        anchor = node.body[min(position, len(node.body) - 1)] if node.body else node
        node.body.insert(position, _located(ast.Expr(self._inside_its_run_test()), anchor))
        if node.name == "__exit__" and node.body:
            # A program's __exit__ returning True would swallow inline mode's timeout.
            position = 1 if ast.get_docstring(node) is not None else 0
            anchor = node.body[min(position, len(node.body) - 1)] if node.body else node
            node.body.insert(position, self._check_statement(anchor))
        return result  # type: ignore[return-value]

    def visit_With(self, node: ast.With) -> ast.AST:
        """``with cm:`` enters ``_rx_with_(cm)``, which hands ``cm.__exit__`` no traceback."""
        node = self.node_contents_visit(node)
        for item in node.items:
            item.context_expr = self._hook_call(WITH_HOOK, item.context_expr)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in ("exec", "eval"):
            self.error(node, f"{node.func.id}() is not allowed: programs cannot create code")
        # *args / **kwargs stay native: arguments carry no rule.
        return self.node_contents_visit(node)

    def guard_iter(self, node: Any) -> Any:
        node = self.node_contents_visit(node)
        node.iter = self._hook_call("_getiter_", node.iter)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.check_name(node, node.name)
        self._class_names.append(node.name)
        try:
            node = self.node_contents_visit(node)
        finally:
            self._class_names.pop()
        if any(keyword.arg == "metaclass" for keyword in node.keywords):
            self.error(node, 'the keyword argument "metaclass" is not allowed')
            return node
        hook = ast.keyword(arg="metaclass", value=ast.Name("__metaclass__", ast.Load()))
        node.keywords.append(_located(hook, node))
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node = self.node_contents_visit(node)
        if node.body and isinstance(node.body[-1], ast.Expr):
            last = node.body[-1]
            last.value = self._hook_call(VALUE_HOOK, last.value)
        return node

    # -- imports -------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> ast.AST:
        for alias in node.names:
            self._check_module(node, alias.name)
        return self.check_import_names(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level:
            self.error(node, "relative imports are not allowed: programs have no package")
            return node
        module = node.module or ""
        if self._check_module(node, module):
            spec = CATALOGUE[module]
            for alias in node.names:
                if alias.name != "*" and alias.name not in spec.allowed:
                    self.error(node, denial_reason(module, alias.name))
        return self.check_import_names(node)

    def _check_module(self, node: ast.AST, dotted: str) -> bool:
        if dotted in self.settings.modules:
            return True
        top = dotted.partition(".")[0]
        allowed = ", ".join(sorted(self.settings.modules)) or "none"
        if top in self.settings.modules:
            self.error(node, f"`{dotted}` is not an allowed module (only `{top}` itself is)")
        else:
            self.error(node, f"`{dotted}` is not an allowed module; allowed: {allowed}")
        return False

    # -- match statements (reviewed: patterns bind names and read attributes) --

    def visit_Match(self, node: ast.Match) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_match_case(self, node: ast.match_case) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_MatchValue(self, node: ast.MatchValue) -> ast.AST:
        node = self.node_contents_visit(node)
        if not isinstance(node.value, ast.Attribute | ast.Constant | ast.UnaryOp | ast.BinOp):
            self.error(node, "this attribute cannot be used as a case pattern")
        return node

    def visit_MatchSingleton(self, node: ast.MatchSingleton) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_MatchSequence(self, node: ast.MatchSequence) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> ast.AST:
        self.check_name(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> ast.AST:
        self.check_name(node, node.rest)
        return self.node_contents_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> ast.AST:
        # Keyword patterns read attributes in C (no _getattr_), so they get the
        # compile-time rules and may not name private or runtime-checked ones.
        for name in node.kwd_attrs:
            reason = read_denial(name)
            if reason is None and (is_private(name) or name in self.runtime_checked):
                reason = f'"{name}" cannot be matched by a class pattern'
            if reason is not None:
                self.error(node, reason)
        return self.node_contents_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> ast.AST:
        self.check_name(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchOr(self, node: ast.MatchOr) -> ast.AST:
        return self.node_contents_visit(node)


# (transformer class, node class) -> the transformer's visitor for it (see
# ProgramTransformer.visit). Filled lazily; concurrent fills store the same function.
_VISITORS: dict[
    tuple[type[ProgramTransformer], type[ast.AST]], Callable[[ProgramTransformer, ast.AST], Any]
] = {}


@dataclass(frozen=True, slots=True)
class _NameScan:
    """What one walk of the tree learns about names."""

    bound: frozenset[str]  # bound anywhere, by any binding form
    rebinding: frozenset[str]  # bound other than by `import M` of a preloaded M
    attribute_bases: frozenset[str]  # names read as `name.attr`
    scopes: int  # functions, lambdas, classes and comprehensions: each a code object
    nodes: int  # every node of the tree but expression contexts (leaves: see _walk)
    captures: int  # the most names one case pattern of a match statement binds
    keywords: int  # the most keyword arguments one call or class statement passes
    finally_blocks: int  # `try` statements with a `finally`


# Fields that never hold a node, in any node type (identifiers, strings, numbers), or hold only
# an expression context (Load, Store, Del: a leaf a walk learns nothing from); and, per type,
# fields whose name elsewhere does hold nodes (Constant.value against Attribute.value, or 3.12's
# TypeAlias.name). A walk skips them all.
_LEAF_FIELDS = frozenset(
    {"id", "ctx", "attr", "arg", "asname", "module", "level", "type_comment", "is_async"}
    | {"simple", "conversion", "kind", "rest", "kwd_attrs"}
)
_LEAF_FIELDS_OF: dict[type[ast.AST], frozenset[str]] = {
    ast.Constant: frozenset({"value"}),
    ast.MatchSingleton: frozenset({"value"}),
    ast.Global: frozenset({"names"}),
    ast.Nonlocal: frozenset({"names"}),
    **dict.fromkeys(
        (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler, ast.alias),
        frozenset({"name"}),
    ),
    **dict.fromkeys((ast.MatchAs, ast.MatchStar), frozenset({"name"})),
}
# Node type -> the fields a walk reads. Filled lazily; concurrent fills store the same tuple.
_NODE_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _node_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    fields = _NODE_FIELDS.get(kind)
    if fields is None:
        leaves = _LEAF_FIELDS | _LEAF_FIELDS_OF.get(kind, frozenset())
        fields = _NODE_FIELDS[kind] = tuple(f for f in kind._fields if f not in leaves)
    return fields


def _walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but expression contexts, like ``ast.walk`` (iterative, so deep
    trees cannot exhaust the stack) but in no particular order and over twice as fast: it reads
    only the fields that can hold nodes (``_node_fields``) directly, instead of every field
    through three nested generators. Compiling new source walks the tree before the transform."""
    stack = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    node_type = ast.AST
    fields_of = _NODE_FIELDS
    while stack:
        node = pop()
        yield node
        kind = type(node)
        fields = fields_of.get(kind)
        if fields is None:  # (most node types have no node fields at all: an empty tuple)
            fields = _node_fields(kind)
        for name in fields:
            child = getattr(node, name, None)
            if type(child) is list:
                # Lists hold nodes, or None (Dict keys of **).
                extend([item for item in child if isinstance(item, node_type)])
            elif isinstance(child, node_type):
                push(child)


def _scan_names(tree: ast.AST, preload: Iterable[str]) -> _NameScan:
    """One walk: every name the program binds, and which reads could be hoisted.

    ``import math`` rebinds ``math`` to the very proxy it is preloaded as, so it
    does not stop ``math.sqrt`` from being hoisted.
    """
    neutral = set(preload)
    bound: set[str] = set()
    neutral_imports: set[str] = set()
    bases: set[str] = set()
    scopes = 0
    nodes = 0
    captures = 0
    keywords = 0
    finally_blocks = 0
    load, name_node, attribute = ast.Load, ast.Name, ast.Attribute
    for node in _walk(tree):
        nodes += 1
        kind = type(node)
        if kind is ast.match_case:
            captures = max(captures, _pattern_captures(node.pattern))  # type: ignore[attr-defined]
        elif kind is ast.Call or kind is ast.ClassDef:
            keywords = max(keywords, len(node.keywords))  # type: ignore[attr-defined]
        elif kind is ast.MatchClass:
            keywords = max(keywords, len(node.kwd_attrs))  # type: ignore[attr-defined]
        elif kind is ast.Try and node.finalbody:  # type: ignore[attr-defined]
            finally_blocks += 1
        if kind is name_node:
            if type(node.ctx) is not load:  # type: ignore[attr-defined]
                bound.add(node.id)  # type: ignore[attr-defined]
        elif kind is attribute:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is name_node:
                bases.add(value.id)
        elif kind in _DEFINITIONS:
            bound.add(node.name)  # type: ignore[attr-defined]
            scopes += 1
        elif kind in _ANONYMOUS_SCOPES:
            scopes += 1
        elif kind is ast.arg:
            bound.add(node.arg)  # type: ignore[attr-defined]
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:  # type: ignore[attr-defined]
                local = alias.asname or alias.name.partition(".")[0]
                if kind is ast.Import and alias.asname is None and local in neutral:
                    neutral_imports.add(local)
                else:
                    bound.add(local)
        elif kind in _NAMED_CAPTURES:
            if node.name:  # type: ignore[attr-defined]
                bound.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.MatchMapping:
            if node.rest:  # type: ignore[attr-defined]
                bound.add(node.rest)  # type: ignore[attr-defined]
        elif kind is ast.Global or kind is ast.Nonlocal:
            bound.update(node.names)  # type: ignore[attr-defined]
    return _NameScan(
        frozenset(bound | neutral_imports),
        frozenset(bound),
        frozenset(bases),
        scopes,
        nodes,
        captures,
        keywords,
        finally_blocks,
    )


def _emitted_nodes(tree: ast.AST, limit: int) -> int:
    """About how many nodes CPython 3.11 compiles, counting each ``finally`` body once for
    every way out of its ``try`` (the normal path, the exception path, and each ``return``,
    ``break`` and ``continue`` through it), as the compiler duplicates it. Stops past ``limit``.
    """
    total = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    node_type = ast.AST
    while stack:
        node, copies = stack.pop()
        total += copies
        if total > limit:
            return total
        if type(node) is ast.Try and node.finalbody:
            ways_out = 2 + _exits(node)
            stack.extend((part, copies) for part in (*node.body, *node.handlers, *node.orelse))
            stack.extend((part, copies * ways_out) for part in node.finalbody)
            continue
        for name in node._fields:
            field_value = getattr(node, name, None)
            if type(field_value) is list:
                stack.extend((item, copies) for item in field_value if isinstance(item, node_type))
            elif isinstance(field_value, node_type):
                stack.append((field_value, copies))
    return total


def _exits(statement: ast.Try) -> int:
    """``return``/``break``/``continue`` statements in a ``try``'s body, handlers and else."""
    count = 0
    for part in (*statement.body, *statement.handlers, *statement.orelse):
        for node in _walk(part):
            if type(node) in _EXITS:
                count += 1
    return count


_EXITS = frozenset({ast.Return, ast.Break, ast.Continue})


def _pattern_captures(pattern: ast.AST) -> int:
    """Names a case pattern binds, every alternative of an or-pattern counted."""
    count = 0
    for node in _walk(pattern):
        kind = type(node)
        if kind is ast.MatchAs or kind is ast.MatchStar:
            count += node.name is not None  # type: ignore[attr-defined]
        elif kind is ast.MatchMapping:
            count += node.rest is not None  # type: ignore[attr-defined]
    return count


def _deeper_than(tree: ast.AST, limit: int) -> bool:
    """Whether any node of ``tree`` lies more than ``limit`` levels below its root (iterative)."""
    stack = [(tree, 0)]
    pop, push = stack.pop, stack.append
    node_type = ast.AST
    while stack:
        node, depth = pop()
        if depth > limit:
            return True
        below = depth + 1
        for name in node._fields:
            child = getattr(node, name, None)
            if type(child) is list:
                for item in child:
                    if isinstance(item, node_type):
                        push((item, below))
            elif isinstance(child, node_type):
                push((child, below))
    return False


_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_NAMED_CAPTURES = frozenset({ast.ExceptHandler, ast.MatchAs, ast.MatchStar})
_ANONYMOUS_SCOPES = frozenset(
    {ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
)

MAX_NESTING = 500
"""Deepest a program's syntax tree may nest (a 600-term ``1 + 1 + ...`` is 600 levels). The
transformer and CPython's compile() recurse once a level, and where Python's recursion limit
stops them depends on the CPython version (3.11 stopped near 1,000 levels, 3.13 not at 5,000):
an explicit bound gives every version the same answer, well before the caller's stack."""

MAX_KEYWORDS = 255
"""Most keyword arguments one call or class statement passes (and keyword sub-patterns one
class pattern has): CPython checks each against every other, so their cost is quadratic
(a 64 KiB call took 1.3 s of the caller's CPU to compile, red-team round 13)."""

MAX_EMITTED_NODES = 200_000
"""Most nodes CPython may compile, each ``finally`` body counted once per way out of its
``try``: it emits a copy for each, so nested ``finally`` blocks double the code at every
level (20 levels in 722 bytes cost the caller 15 s and 3 GB, red-team round 13)."""

MAX_PATTERN_CAPTURES = 256
"""Most names one case pattern may bind. CPython 3.11 compiles a pattern's captures in time
and memory quadratic in their number: 10,900 of them (64 KiB) cost the caller ~12 s and
~5 GB before any limit of the run applied (red-team round 12); 256 compile in a few ms."""

MAX_SCOPES = 1_000
"""Most functions, lambdas, classes and comprehensions a program may hold. CPython's own
compile() builds a code object for each, at ~0.15 ms apiece, in the caller's process and
before any limit of the run applies; a 64 KiB program of `lambda: 0` lines held 7,000."""


def _hoist_preloads(tree: ast.AST, stable: frozenset[str]) -> set[tuple[str, str]]:
    """Replace ``math.sqrt`` by a global bound to the very value the proxy returns.

    Only for a preloaded module name that the program never rebinds, and only
    for attributes the catalogue allows, so the replacement is exactly what the
    proxy would hand out - without its lookup on every iteration of a loop.
    Iterative, so deep expressions cannot exhaust the stack.
    """
    used: set[tuple[str, str]] = set()
    if not stable:
        return used  # nothing to hoist: skip the walk
    # One walk that also replaces: the same loop over each node's fields finds its children
    # to visit and the attribute reads to hoist (a replaced read has nothing left to visit).
    attribute, match_value, node_type = ast.Attribute, ast.MatchValue, ast.AST
    stack = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        parent = pop()
        # A Name directly under a value pattern would turn it into a capture pattern.
        may_replace = type(parent) is not match_value
        for field_name in parent._fields:
            child = getattr(parent, field_name, None)
            if type(child) is list:
                for index, item in enumerate(child):
                    if may_replace and type(item) is attribute:
                        replacement = _hoisted(item, stable, used)
                        if replacement is not None:
                            child[index] = replacement
                            continue
                    if isinstance(item, node_type):
                        push(item)
            elif isinstance(child, node_type):
                if may_replace and type(child) is attribute:
                    replacement = _hoisted(child, stable, used)
                    if replacement is not None:
                        setattr(parent, field_name, replacement)
                        continue
                push(child)
    return used


def _hoisted(node: object, stable: frozenset[str], used: set[tuple[str, str]]) -> ast.Name | None:
    if not (
        isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id in stable
        and node.attr in CATALOGUE[node.value.id].allowed
    ):
        return None
    used.add((node.value.id, node.attr))
    return ast.copy_location(
        ast.Name(hoisted_global_name(node.value.id, node.attr), ast.Load()), node
    )


if sys.version_info >= (3, 12):  # pragma: no cover - reviewed nodes of newer Pythons
    # TypeAlias (`type X = ...`) and type parameters stay denied by
    # RestrictedPython's generic_visit until someone reviews them.
    pass
