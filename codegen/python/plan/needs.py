"""What a planned piece of a query module needs from the module around it."""

from __future__ import annotations

from dataclasses import dataclass

from connlog.codegen.python.types import Import


@dataclass(frozen=True, slots=True)
class Needs:
    """The imports and ``_runtime`` helpers the expressions of a function name.

    ``imports`` are named by the function's body, so both renderings import them;
    ``declared`` only by the declarations the sync module alone makes (a row or Params
    class's fields); ``helpers`` are ``_runtime`` helpers, imported under their private
    names (``from ._runtime import aware as _aware``).
    """

    imports: frozenset[Import] = frozenset()
    declared: frozenset[Import] = frozenset()
    helpers: frozenset[str] = frozenset()

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            self.imports | other.imports,
            self.declared | other.declared,
            self.helpers | other.helpers,
        )
