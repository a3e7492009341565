"""Import bookkeeping for the generated modules: sets of ``Import`` to import lines.

The lines are grouped by module only: ``write`` has ruff sort them (its isort rules, under the
project's settings) in the run that formats the files, so no list of standard-library modules or
ordering rules is kept here.
"""

from __future__ import annotations

from collections.abc import Iterable

from connlog.codegen.python.types import Import


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
