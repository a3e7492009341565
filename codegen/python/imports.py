"""A generated module's imports, found from the names its rendered text uses.

Plan writes expressions and annotations by name (``Jsonb(...)``, ``UUID | None``,
``_aware(...)``) and records nowhere what they import: ``render`` lays a module out,
reads the names its text leaves free (``free_names``), and imports each from where the
plan's ``Namespace`` says that name comes from. An import nobody uses cannot be written,
and a name the namespace does not know fails the run (a generator bug), never the
import of the generated module.

The lines are grouped by module only: ``write`` has ruff sort them (its isort rules, under the
project's settings) in the run that formats the files, so no list of standard-library modules or
ordering rules is kept here.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

# An import the generated module needs: ``from module import name``, ``import module``
# when name is ""; a ``module`` starting with "." is a sibling generated module, and a
# name may be ``name as alias``.
Import: TypeAlias = tuple[str, str]


def bound_name(entry: Import) -> str:
    """The name an import binds in the module: ``_aware`` for ``aware as _aware``."""
    module, name = entry
    return name.rpartition(" as ")[2] if name else module.partition(".")[0]


@dataclass(frozen=True, slots=True)
class Namespace:
    """Where each name a generated module may use is imported from.

    ``always`` are imported whether the text uses them or not: the aio modules
    re-export the sync module's row and parameter classes (``X as X``).
    """

    names: tuple[tuple[str, Import], ...]  # (bound name, import), sorted
    always: tuple[Import, ...] = ()

    @staticmethod
    def of(entries: Iterable[Import], always: Iterable[Import] = ()) -> Namespace:
        """The namespace of ``entries``; two imports binding one name is a bug of the plan."""
        names: dict[str, Import] = {}
        for entry in entries:
            other = names.setdefault(bound_name(entry), entry)
            assert other == entry, f"{other} and {entry} both bind {bound_name(entry)!r}"
        return Namespace(tuple(sorted(names.items())), tuple(sorted(set(always))))

    def imports(self, source: str) -> tuple[str, ...]:
        """The import lines of the module ``source`` (rendered without them)."""
        table = dict(self.names)
        bound = {bound_name(entry) for entry in self.always}
        used: set[Import] = set(self.always)
        unknown: list[str] = []
        for name in sorted(free_names(source) - bound):
            if name in table:
                used.add(table[name])
            elif not hasattr(builtins, name):
                unknown.append(name)
        assert not unknown, f"names the generated module uses but nothing imports: {unknown}"
        return import_lines(used)


def free_names(source: str) -> set[str]:
    """The names module ``source`` reads from its global scope without defining them there.

    A function's parameters and locals are its own; its annotations and defaults, like a
    class body's annotations, are read from the module. The string in ``cast("T", ...)``
    counts too: a type checker reads it.
    """
    tree = ast.parse(source)
    defined = {name for statement in tree.body for name in _defines(statement)}
    return _reads(tree.body, local=set()) - defined


def _defines(statement: ast.stmt) -> set[str]:
    """The module-level names ``statement`` binds."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {alias.asname or alias.name.partition(".")[0] for alias in statement.names}
    return {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def _reads(nodes: Iterable[ast.AST], local: set[str]) -> set[str]:
    """The global names ``nodes`` read, where ``local`` are the enclosing function's own."""
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            outer: list[ast.AST] = [*node.decorator_list, *arguments.defaults]
            outer += [d for d in arguments.kw_defaults if d is not None]
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            outer += [a.annotation for a in every if a.annotation is not None]
            if node.returns is not None:
                outer.append(node.returns)
            found |= _reads(outer, local)
            # Its own names, and those of the functions it is nested in (closures).
            own = local | {a.arg for a in every}
            for statement in node.body:
                for n in ast.walk(statement):
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        own.add(n.id)
                    elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        own.add(n.name)
                    elif isinstance(n, ast.ExceptHandler) and n.name is not None:
                        own.add(n.name)  # ``except ArgumentError as error``
            found |= _reads(node.body, own)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id not in local:
                found.add(node.id)
        elif _is_cast(node):
            assert isinstance(node, ast.Call)
            first = node.args[0]
            assert isinstance(first, ast.Constant) and isinstance(first.value, str)
            found |= _reads([ast.parse(first.value, mode="eval")], local)
        found |= _reads(ast.iter_child_nodes(node), local)
    return found


def _is_cast(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "cast"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def import_lines(imports: Iterable[Import]) -> tuple[str, ...]:
    """One import statement per module (``import m`` when the name is empty), for ruff to sort.

    A name may be ``name as alias``. The order is only made deterministic here.
    """
    modules: dict[str, set[str]] = {}
    plain: set[str] = set()
    for module, name in imports:
        if name:
            modules.setdefault(module, set()).add(name)
        else:
            plain.add(module)
    lines = [f"import {module}" for module in sorted(plain)]
    lines += [f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(modules.items())]
    return tuple(lines)


def from_subpackage(imports: Iterable[Import]) -> set[Import]:
    """Relative imports as written one package further down (in ``aio/``)."""
    return {(f".{module}" if module.startswith(".") else module, name) for module, name in imports}
