"""Stage 4: every Python decision about the generated modules (``forms`` holds them).

Names, annotations, imports, return shapes and the expressions that build rows
and wrap parameters are all chosen here, so the templates only lay out text:
``models`` plans models.py, ``modules`` each query module from its queries'
functions (``functions``), whose ``parameters`` and ``rows`` are planned apart.
The naming rules are in ``codegen.python.names``; what a PostgreSQL type maps to,
in ``codegen.python.types``; the expressions around a value, in
``codegen.python.conversions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from connlog.codegen.model import Analysis, AnalyzedQuery, CodegenError, CodegenErrors
from connlog.codegen.python.forms import MigrationsModule, Plan, QueryModule, RuntimeModule
from connlog.codegen.python.imports import Namespace
from connlog.codegen.python.literals import tuple_literal
from connlog.codegen.python.names import MIGRATIONS_MODULE, RUNTIME_MODULE
from connlog.codegen.python.plan.models import plan_models
from connlog.codegen.python.plan.modules import plan_query_module
from connlog.codegen.python.plan.namespace import STANDARD, namespace
from connlog.codegen.python.types import Overrides

__all__ = ["RUNTIME", "Plan", "plan"]

# What _runtime.py uses beyond the standard names.
_RUNTIME_NAMES: Final = (
    ("collections.abc", "Callable"),
    ("collections.abc", "Mapping"),
    ("dataclasses", "fields"),
    ("dataclasses", "make_dataclass"),
    ("functools", "cache"),
    ("typing", "Generic"),
    ("typing", "NamedTuple"),
    ("typing", "TypeVar"),
    ("psycopg", "AsyncConnection"),
    ("psycopg", "Connection"),
    ("psycopg.adapt", "Transformer"),
    ("psycopg.pq", "Format"),
    ("psycopg.types.composite", "CompositeInfo"),
    ("psycopg.types.composite", "register_composite"),
)
RUNTIME: Final = RuntimeModule(f"{RUNTIME_MODULE}.py", Namespace.of((*STANDARD, *_RUNTIME_NAMES)))


def plan(
    analysis: Analysis,
    *,
    migrations_source: str,
    sources: Sequence[str] = (),
    overrides: Overrides | None = None,
    migration_ids: Sequence[str] = (),
) -> Plan:
    """Decide the generated modules for ``analysis``; every error of the run at once.

    ``sources`` lists every query file, so a file without queries still gets its module.
    """
    overrides = overrides or {}
    errors: list[CodegenError] = []
    models, model_types = plan_models(analysis, migrations_source, overrides, errors)
    try:
        names = namespace(models, overrides)
    except CodegenErrors as exc:
        raise CodegenErrors(errors + exc.errors) from None
    by_source: dict[str, list[AnalyzedQuery]] = {source: [] for source in sources}
    for query in analysis.queries:
        by_source.setdefault(query.source, []).append(query)
    modules: list[QueryModule] = []
    for source in sorted(by_source):
        try:
            modules.append(
                plan_query_module(source, by_source[source], model_types, overrides, names)
            )
        except CodegenErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise CodegenErrors(errors)
    migrations = MigrationsModule(
        f"{MIGRATIONS_MODULE}.py",
        migrations_source,
        # Always a tuple: ``()`` when there are none.
        tuple_literal(migration_ids),
    )
    return Plan(models, tuple(modules), RUNTIME, migrations, names)
