"""Plan ``models.py``: a StrEnum per enum, a dataclass per table and per composite type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connlog.codegen.model import (
    Analysis,
    AnalyzedColumn,
    CodegenError,
    Location,
    PgType,
    table_key,
)
from connlog.codegen.python.conversions import optional
from connlog.codegen.python.forms import (
    CompositeClass,
    EnumClass,
    EnumMember,
    Field,
    ModelsModule,
    RowClass,
)
from connlog.codegen.python.literals import docstring, string, tuple_literal
from connlog.codegen.python.names import (
    MODELS_MODULE,
    class_name,
    model_name,
    unique_identifiers,
)
from connlog.codegen.python.types import (
    CIDR,
    INET,
    Overrides,
    PyType,
    composite_constant,
    composite_enum,
    enum_labels_name,
    python_type,
)


@dataclass(frozen=True, slots=True)
class Model:
    """A table's dataclass as query modules see it."""

    row_class: RowClass
    types: tuple[PyType, ...]
    nullables: tuple[bool, ...]  # per column, as the table declares it
    columns: tuple[str, ...]  # ``table.column`` of each, as the loaders' errors name them


def plan_models(
    analysis: Analysis,
    migrations_source: str,
    overrides: Overrides,
    errors: list[CodegenError],
) -> tuple[ModelsModule, dict[str, Model]]:
    """``models.py``, and each table's model by ``table_key``; errors appended to ``errors``."""
    names: dict[str, str] = {}  # class name -> what it was made from, for collisions
    where = Location(migrations_source, 1, 1)

    def claim(name: str, what: str) -> None:
        if name in names:
            errors.append(
                CodegenError(
                    where,
                    f"{what} and {names[name]} both become class {name!r} in models.py",
                    "rename one of them in a migration",
                )
            )
        names[name] = what

    enums: list[EnumClass] = []
    for enum in analysis.enums:
        name = class_name(enum.name)
        claim(name, f"enum {enum.name!r}")
        members = unique_identifiers(enum.enum_labels)
        labels_name = enum_labels_name(name)
        claim(labels_name, f"the labels of enum {enum.name!r}")
        enums.append(
            EnumClass(
                name,
                docstring(f"PostgreSQL enum {enum.schema}.{enum.name}."),
                tuple(
                    EnumMember(member.upper(), string(label))
                    for member, label in zip(members, enum.enum_labels, strict=True)
                ),
                labels_name,
                f"Literal[{', '.join(string(label) for label in enum.enum_labels)}]",
            )
        )
    claim("JsonValue", "the JSON value type")
    named = _composite_classes(analysis.composites, overrides)
    for type_name, composite in named:
        claim(composite.row_class.name, f"composite type {type_name!r}")
    composites = tuple(composite for _, composite in named)
    claim(INET, "the inet type")
    claim(CIDR, "the cidr type")

    tables: list[RowClass] = []
    models: dict[str, Model] = {}
    for table in analysis.tables:
        name = model_name(table.schema, table.name)
        claim(name, f"table {table.name!r}")
        try:
            fields, types = row_fields(table.columns, where, overrides, f"table {table.name!r}")
        except CodegenError as exc:
            errors.append(exc)
            continue
        row_class = RowClass(
            name, docstring(f"A row of table {table.schema}.{table.name}."), fields
        )
        tables.append(row_class)
        key = table_key(table.schema, table.name)
        models[key] = Model(
            row_class,
            types,
            tuple(column.nullable for column in table.columns),
            tuple(f"{key}.{column.name}" for column in table.columns),
        )
    module = ModelsModule(
        f"{MODELS_MODULE}.py",
        migrations_source,
        tuple(enums),
        tuple(tables),
        composites,
    )
    return module, models


def row_fields(
    columns: Sequence[AnalyzedColumn],
    where: Location,
    overrides: Overrides,
    owner: str,
) -> tuple[tuple[Field, ...], tuple[PyType, ...]]:
    """The fields of a row class of ``columns`` (named uniquely), and each one's PyType."""
    names = unique_identifiers((column.name for column in columns), reserved=("self",))
    types = tuple(
        python_type(
            column.type,
            where=where,
            subject=f"column {column.name!r} of {owner}",
            overrides=overrides,
            column=column,
            element_nullable=column.element_nullable,
        )
        for column in columns
    )
    fields = tuple(
        Field(name, optional(pytype.annotation, column.nullable))
        for name, pytype, column in zip(names, types, columns, strict=True)
    )
    return fields, types


def _composite_classes(
    composites: Sequence[PgType], overrides: Overrides
) -> list[tuple[str, CompositeClass]]:
    """A dataclass for each composite type with a Python mapping, nested types first.

    Each with the type's name.

    One without (a field of an enum type...) is left out: a query using it is an error
    there, with the override hint, and an override may make the class unnecessary.
    """
    by_name = {(pg.schema, pg.name): pg for pg in composites}
    ordered: list[PgType] = []

    def visit(pg: PgType) -> None:
        while pg.base is not None or pg.element is not None:
            pg = pg.base or pg.element or pg
        if (pg.schema, pg.name) not in by_name or pg in ordered:
            return
        for field in pg.fields:
            visit(field.type)
        ordered.append(pg)

    for pg in composites:
        visit(pg)
    classes: list[tuple[str, CompositeClass]] = []
    for pg in ordered:
        # Whether its own fields map (under the overrides of their types), even where an
        # override of the composite itself would answer for it.
        own = {k: v for k, v in overrides.items() if k not in (pg.name, f"{pg.schema}.{pg.name}")}
        try:
            python_type(pg, where=None, overrides=own)
            field_types = [
                python_type(
                    field.type,
                    where=None,
                    overrides=overrides,
                    element_nullable=True,
                )
                for field in pg.fields
            ]
        except CodegenError:
            continue
        enums = [
            (index, found)
            for index, pytype in enumerate(field_types)
            if (found := composite_enum(pytype)) is not None
        ]
        names = unique_identifiers((field.name for field in pg.fields), reserved=("self",))
        row_class = RowClass(
            class_name(pg.name),
            docstring(
                f"PostgreSQL composite type {pg.schema}.{pg.name}: any attribute may be NULL."
            ),
            tuple(
                Field(name, optional(pytype.annotation, field.nullable))
                for name, pytype, field in zip(names, field_types, pg.fields, strict=True)
            ),
        )
        arguments = [
            string(pg.schema),
            string(pg.name),
            row_class.name,
            tuple_literal(
                [tuple_literal([f.name, f"{f.type.schema}.{f.type.name}"]) for f in pg.fields],
                quote=False,
            ),
        ]
        if enums:
            arguments.append(
                tuple_literal(
                    [f"({index}, {enum}, {array})" for index, (enum, array) in enums], quote=False
                )
            )
        composite = CompositeClass(row_class, composite_constant(pg), ", ".join(arguments))
        classes.append((pg.name, composite))
    return classes
