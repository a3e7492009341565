"""Stage 3: ask PostgreSQL what each query takes and returns.

Every run works in a read-only database migrated once per content of the
migrations and kept on the server (``scratch.describe_database``), so an
application's data is never touched.
``analyze`` prepares each statement there with libpq's unnamed prepared
statement and describes it: the server's own parser and planner give the exact
type of every parameter and result column, and ``ftable``/``ftablecol`` the
table column a result comes from. Nullability comes from
``nullability.infer`` over a ``Catalog`` read from ``pg_attribute``: the server
knows types but not whether an expression can be NULL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, cast

import psycopg
from pglast import ast
from pglast.enums import SetOperation
from pglast.parser import parse_sql
from psycopg import sql
from psycopg.pq import DiagnosticField, ExecStatus

from connlog.codegen.analysis import nullability
from connlog.codegen.analysis.expand import StarError, expand_stars
from connlog.codegen.analysis.param_rules import param_rules
from connlog.codegen.database import migrate
from connlog.codegen.model import (
    Analysis,
    AnalyzedColumn,
    AnalyzedCopy,
    AnalyzedEmbed,
    AnalyzedParam,
    AnalyzedQuery,
    AnalyzedTable,
    CatalogColumn,
    CodegenError,
    Command,
    CompositeField,
    FunctionFacts,
    Location,
    ParsedQuery,
    PgType,
    SqlFunction,
    table_key,
)
from connlog.codegen.parsing.sqlast import strings

# pg_class.relkind of the relations models.py declares a dataclass for.
_TABLE_KINDS: Final = ("r", "p")
_UNTYPED_PARAMETER: Final = re.compile(r"\$(\d+)")

# What a name in the top-level FROM clause stands for: a table (schema, name), or
# None for anything else (a subquery, a function, a CTE, an aliased join).
_FromItem = tuple[str | None, str] | None


def analyze(
    queries: Sequence[ParsedQuery], conn: psycopg.Connection[tuple[object, ...]]
) -> tuple[Analysis, list[CodegenError]]:
    """Describe every query on ``conn``, an autocommit connection to the migrated database.

    The analysis of every query that describes (in order, the others left out) and the
    errors of the others, all of them: the later stages still plan the first, so that a
    run reports every error at once.
    """
    errors: list[CodegenError] = []
    analyzed: list[AnalyzedQuery] = []
    server = _Server(conn)
    for query in queries:
        try:
            analyzed.append(server.describe(query))
        except CodegenError as exc:
            errors.append(exc)
    schema = (server.tables(), server.enums(), server.composites())
    return Analysis(tuple(analyzed), *schema), errors


@dataclass(frozen=True, slots=True)
class _Relation:
    schema: str
    name: str
    kind: str  # pg_class.relkind


@dataclass(frozen=True, slots=True)
class _Attribute:
    number: int
    name: str
    type_oid: int
    not_null: bool


class _Server:
    """One connection to the scratch database, with per-run caches of its catalog.

    Also the ``Catalog`` that nullability inference reads.
    """

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self._conn = conn
        self._types: dict[int, PgType] = {}
        self._relations: dict[int, _Relation | None] = {}
        self._attributes: dict[int, tuple[_Attribute, ...]] = {}
        self._views: dict[int, list[bool] | None] = {}
        self._functions: dict[tuple[str | None, str], FunctionFacts | None] = {}
        # The schema does not change while queries are described: each relation is looked up once.
        self._regclasses: dict[tuple[str | None, str], int | None] = {}

    # --- Catalog --------------------------------------------------------------

    def columns(self, schema: str | None, table: str) -> tuple[CatalogColumn, ...] | None:
        oid = self._regclass((schema, table))
        if oid is None:
            return None
        attributes = self._attributes_of(oid)
        not_null = self._view_not_null(oid, len(attributes)) or [a.not_null for a in attributes]
        return tuple(
            CatalogColumn(a.name, proven, self.pg_type(a.type_oid).category)
            for a, proven in zip(attributes, not_null, strict=True)
        )

    def function(self, schema: str | None, name: str) -> FunctionFacts | None:
        key = (schema, name)
        if key not in self._functions:
            rows = self._conn.execute(
                """
                SELECT p.prokind::text, p.proretset, n.nspname = 'pg_catalog'
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.proname = %(name)s
                  AND CASE WHEN %(schema)s::text IS NULL THEN pg_function_is_visible(p.oid)
                      ELSE n.nspname = %(schema)s END
                """,
                {"name": name, "schema": schema},
            ).fetchall()
            self._functions[key] = (
                FunctionFacts(
                    kinds=frozenset(str(kind) for kind, _, _ in rows),
                    returns_set=any(retset is True for _, retset, _ in rows),
                    builtin=all(builtin is True for _, _, builtin in rows),
                )
                if rows
                else None
            )
        return self._functions[key]

    def sql_function(self, schema: str | None, name: str, arity: int) -> SqlFunction | None:
        rows = self._conn.execute(
            """
            SELECT p.prosrc, p.proisstrict, coalesce(p.proargnames, '{}'), p.pronargs,
                   l.lanname = 'sql' AND p.prokind = 'f' AND NOT p.proretset
                   AND p.pronargdefaults = 0 AND p.provariadic = 0
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            JOIN pg_language l ON l.oid = p.prolang
            WHERE p.proname = %(name)s
              AND CASE WHEN %(schema)s::text IS NULL THEN pg_function_is_visible(p.oid)
                  ELSE n.nspname = %(schema)s END
            """,
            {"name": name, "schema": schema},
        ).fetchall()
        if len(rows) != 1:
            return None
        ((body, strict, names, count, plain),) = rows
        if plain is not True or count != arity or not isinstance(body, str) or not body.strip():
            return None
        arguments = [str(n) for n in cast(list[object], names)] if isinstance(names, list) else []
        return SqlFunction(body, strict is True, tuple((arguments + [""] * arity)[:arity]))

    def _view_not_null(self, oid: int, count: int) -> list[bool] | None:
        """A view's columns, not null as its definition proves; None for any other relation.

        PostgreSQL sets no attnotnull on a view's columns: its query, from
        ``pg_get_viewdef``, is analyzed like any other (through this catalog, so a view on
        a view is analyzed in turn).
        """
        relation = self._relation(oid)
        if relation is None or relation.kind not in ("v", "m"):
            return None
        if oid not in self._views:
            row = self._conn.execute("SELECT pg_get_viewdef(%s::oid)", [oid]).fetchone()
            definition = str(row[0]) if row is not None and row[0] is not None else ""
            facts = nullability.infer(definition, self) if definition else None
            proven = None
            if facts is not None and len(facts.column_nullable) == count:
                proven = [not is_nullable for is_nullable in facts.column_nullable]
            self._views[oid] = proven
        return self._views[oid]

    # --- describing -----------------------------------------------------------

    def describe(self, query: ParsedQuery) -> AnalyzedQuery:
        # As written first, so the server's errors point into the query file; then with
        # its stars expanded (``expand``), which is what is described and what runs.
        described = self._prepare(query, query.sql)
        statement = self._expanded(query)
        if statement != query.sql:
            described = self._prepare(query, statement)

        narg = frozenset(p.number for p in query.params if p.narg)
        facts = nullability.infer(statement, self, narg)
        rules = param_rules(statement)
        params: list[AnalyzedParam] = []
        for param in query.params:
            oid = described.param_type(param.number - 1)
            target = facts.param_columns.get(param.number)
            params.append(
                AnalyzedParam(
                    number=param.number,
                    name=param.name,
                    type=self.pg_type(oid),
                    nullable=param.narg or param.number in facts.param_nullable,
                    location=param.location,
                    narg=param.narg,
                    table=target[0] if target else None,
                    table_column=target[1] if target else None,
                    non_negative=param.number in rules.non_negative,
                    labels=rules.labels.get(param.number, ()),
                    requires=rules.requires.get(param.number),
                )
            )
        assert described.nparams == len(query.params), (query.name, described.nparams)

        columns: list[AnalyzedColumn] = []
        sources: list[tuple[int, int]] = []
        for index in range(described.nfields):
            raw_name = (described.fname(index) or b"").decode()
            name = _column_name(
                facts.column_names if len(facts.column_names) == described.nfields else (),
                index,
                raw_name,
            )
            table_oid, table_column = described.ftable(index), described.ftablecol(index)
            sources.append((table_oid, table_column))
            relation = self._relation(table_oid) if table_oid else None
            attribute = self._attribute(table_oid, table_column) if relation else None
            pg = self.pg_type(described.ftype(index))
            columns.append(
                AnalyzedColumn(
                    name=name,
                    type=pg,
                    nullable=_column_nullable(facts, index, described.nfields),
                    table=relation.name if relation else None,
                    table_column=attribute.name if attribute else None,
                    element_nullable=is_array(pg)
                    and _elements_nullable(facts, index, described.nfields),
                )
            )
        embeds = self._embeds(query, columns, sources)
        return AnalyzedQuery(
            name=query.name,
            command=query.command,
            doc=query.doc,
            filters=query.filters,
            param_rows=query.param_rows,
            sql=statement,
            params=tuple(params),
            columns=tuple(columns),
            row_is_certain=facts.row_is_certain,
            source=query.location.path,
            location=query.location,
            # ``SELECT sqlc.embed(t) FROM t`` is a row with one field, as in sqlc.
            whole_table=None if embeds else self._whole_table(columns, sources),
            embeds=embeds,
            copy=self._copy(query) if query.command is Command.COPYFROM else None,
        )

    def _prepare(self, query: ParsedQuery, statement: str) -> psycopg.pq.abc.PGresult:
        """Prepare ``statement`` as the unnamed statement; its description."""
        pgconn = self._conn.pgconn
        prepared = pgconn.prepare(b"", statement.encode())
        if prepared.status != ExecStatus.COMMAND_OK:
            raise self._server_error(query, prepared)
        described = pgconn.describe_prepared(b"")
        if described.status != ExecStatus.COMMAND_OK:
            raise self._server_error(query, described)
        return described

    def _expanded(self, query: ParsedQuery) -> str:
        """``query.sql`` with its table stars replaced by named columns (``expand``)."""

        def columns_of(schema: str | None, table: str) -> tuple[str, ...] | None:
            found = self.columns(schema, table)
            return None if found is None else tuple(column.name for column in found)

        try:
            return expand_stars(query.sql, columns_of)
        except StarError as exc:
            raise CodegenError(
                query.locate(exc.offset),
                f"in query {query.name}: cannot replace the star by column names: {exc.message}",
                "list the columns you want instead of the star: generated code reads rows "
                "by position, so it never relies on a table's physical column order",
            ) from exc

    def _copy(self, query: ParsedQuery) -> AnalyzedCopy:
        """The COPY target of a ``:copyfrom`` query: ``INSERT INTO t (cols) VALUES ($1, ...)``."""
        (raw,) = parse_sql(query.sql)
        columns: list[str] = []
        values: tuple[object, ...] = ()
        relation: ast.RangeVar | None = None
        match raw.stmt:
            case ast.InsertStmt(
                relation=ast.RangeVar() as target,
                selectStmt=ast.SelectStmt() as select,
                returningClause=None,
                onConflictClause=None,
                withClause=None,
            ):
                rows = cast(tuple[tuple[object, ...], ...], select.valuesLists or ())
                if len(rows) == 1:
                    relation, values = target, rows[0]
                for col in raw.stmt.cols or ():
                    match col:
                        case ast.ResTarget(name=str(name), indirection=None):
                            columns.append(name)
                        case _:
                            relation = None
            case _:
                pass  # any other statement: the error below
        # Bare parameters only: COPY sends each value as its column's type, so a cast
        # (``@ts::timestamptz`` into a timestamp column) would be silently skipped.
        numbers = [value.number if isinstance(value, ast.ParamRef) else None for value in values]
        if relation is None or None in numbers or len(set(numbers)) != len(numbers):
            raise CodegenError(
                query.location,
                f"query {query.name} is :copyfrom but is not an INSERT of one row of parameters",
                "write `INSERT INTO t (a, b) VALUES (@a, @b)` with no RETURNING or ON CONFLICT; "
                "COPY loads the rows, so each value must be a parameter, without a cast",
            )
        schema = relation.schemaname if isinstance(relation.schemaname, str) else None
        table = str(relation.relname)
        if not columns:
            oid = self._regclass((schema, table))
            assert oid is not None, f"{query.name}: the server prepared an INSERT into {table}"
            columns = [a.name for a in self._attributes_of(oid)][: len(numbers)]
        return AnalyzedCopy(
            schema, table, tuple(columns), tuple(n for n in numbers if n is not None)
        )

    def _embeds(
        self,
        query: ParsedQuery,
        columns: Sequence[AnalyzedColumn],
        sources: Sequence[tuple[int, int]],
    ) -> tuple[AnalyzedEmbed, ...]:
        """Where each ``sqlc.embed(t)`` (rewritten to ``t.*``) landed among the columns.

        ``t.*`` expands to every column of t's table, in attnum order. Where it lands is
        counted along the output list: one column a target, a table's ``x.*`` as many as x's
        table has. Two runs of the same table's columns (``e.*, sqlc.embed(m)`` over a self
        join, or a subquery's columns the server reports as the table's) look alike, so a
        match on the columns alone is taken only when it is the one match there is.
        """
        if not query.embeds:
            return ()
        relations = embed_relations(query.sql)
        targets = output_targets(query.sql)
        taken: set[int] = set()
        embeds: list[AnalyzedEmbed] = []
        for occurrence, name in enumerate(query.embeds):
            refs = self._named(name, relations)
            oid = self._regclass(refs[0]) if len(refs) == 1 else None
            relation = self._relation(oid) if oid else None
            if len(refs) > 1:
                raise CodegenError(
                    query.location,
                    f"in query {query.name}: sqlc.embed({name}) is ambiguous: {name!r} names "
                    f"{len(refs)} items of the FROM clause",
                    "give each table of the FROM clause its own alias, and embed that",
                )
            if oid is None or relation is None or relation.kind not in _TABLE_KINDS:
                raise CodegenError(
                    query.location,
                    f"in query {query.name}: sqlc.embed({name}) does not name a table "
                    "in the FROM clause",
                    "embed a table (or its alias) of the query, not a CTE, subquery or function",
                )
            attributes = self._attributes_of(oid)
            numbers = [a.number for a in attributes]
            pattern = [(oid, n) for n in numbers]
            earlier = query.embeds[:occurrence].count(name)
            start = self._counted_start(targets, name, earlier, relations)
            if start is None:
                runs = [
                    i
                    for i in range(len(sources) - len(numbers) + 1)
                    if i not in taken and list(sources[i : i + len(numbers)]) == pattern
                ]
                if len(runs) != 1:
                    raise CodegenError(
                        query.location,
                        f"in query {query.name}: cannot tell which columns sqlc.embed({name}) "
                        f"is: {table_key(relation.schema, relation.name)}'s columns appear "
                        f"{len(runs)} times in the output, after a `*` or a subquery's `x.*`",
                        "list the columns before the embed by name, or put the embed first",
                    )
                start = runs[0]
            assert list(sources[start : start + len(numbers)]) == pattern, (
                f"{query.name}: sqlc.embed({name}) counted at column {start}, which is not {name}'s"
            )
            taken.update(range(start, start + len(numbers)))
            span = columns[start : start + len(numbers)]
            nullable = any(c.nullable and a.not_null for c, a in zip(span, attributes, strict=True))
            key = next((start + i for i, a in enumerate(attributes) if a.not_null), None)
            table_name = table_key(relation.schema, relation.name)
            embeds.append(AnalyzedEmbed(name, table_name, start, len(numbers), nullable, key))
        return tuple(sorted(embeds, key=lambda e: e.start))

    def _named(
        self, name: str, relations: dict[str, tuple[_FromItem, ...]]
    ) -> tuple[_FromItem, ...]:
        """The FROM items ``name`` (as an embed or a ``name.*`` writes it) refers to."""
        schema, dot, table = name.rpartition(".")
        if not dot:
            return relations.get(name, ())
        # ``billing.invoices``: the FROM item that is that table, however it is written there
        # (``FROM billing.invoices``, or found on the search path).
        wanted = self._regclass((schema, table))
        candidates = relations.get(table, ())
        return tuple(ref for ref in candidates if wanted and self._regclass(ref) == wanted)

    def _counted_start(
        self,
        targets: tuple[str | None, ...] | None,
        name: str,
        earlier: int,
        relations: dict[str, tuple[_FromItem, ...]],
    ) -> int | None:
        """The first output column of a ``name.*`` target, counted along the output list
        (``earlier``: how many ``name.*`` targets before it to pass); None where a target
        before it has a width this cannot know (``*``, a subquery's or function's ``x.*``,
        ``(expr).*``)."""
        if targets is None:
            return None
        column = 0
        for target in targets:
            if target == name:
                if earlier == 0:
                    return column
                earlier -= 1
            if target is None:
                column += 1
                continue
            refs = self._named(target, relations)
            oid = self._regclass(refs[0]) if len(refs) == 1 else None
            relation = self._relation(oid) if oid else None
            if oid is None or relation is None or relation.kind not in _TABLE_KINDS:
                return None
            column += len(self._attributes_of(oid))
        return None

    def _regclass(self, name: _FromItem) -> int | None:
        if name is None:
            return None
        if name not in self._regclasses:
            schema, table = name
            ident = sql.Identifier(schema, table) if schema else sql.Identifier(table)
            row = self._conn.execute(
                "SELECT to_regclass(%s)::oid", [ident.as_string(self._conn)]
            ).fetchone()
            self._regclasses[name] = (
                _int(row[0]) if row is not None and row[0] is not None else None
            )
        return self._regclasses[name]

    def _server_error(self, query: ParsedQuery, result: psycopg.pq.abc.PGresult) -> CodegenError:
        def field(code: DiagnosticField) -> str | None:
            value = result.error_field(code)
            return value.decode(errors="replace") if value is not None else None

        message = field(DiagnosticField.MESSAGE_PRIMARY) or result.error_message.decode()
        position = field(DiagnosticField.STATEMENT_POSITION)
        location: Location = query.location
        if position is not None:
            # PostgreSQL counts characters of the statement from 1.
            location = query.locate(int(position) - 1)
        elif field(DiagnosticField.SQLSTATE) == "42P18":
            # "could not determine data type of parameter $n" carries no position:
            # point at the parameter instead.
            match = _UNTYPED_PARAMETER.search(message)
            number = int(match.group(1)) if match else 0
            for param in query.params:
                if param.number == number:
                    location = param.location
                    message = f"{message} ({param.name!r})"
            return CodegenError(
                location,
                f"in query {query.name}: {message}",
                "add a cast where it is used, e.g. @name::text or sqlc.arg(name)::int8",
            )
        return CodegenError(
            location, f"in query {query.name}: {message}", field(DiagnosticField.MESSAGE_HINT)
        )

    def _whole_table(
        self, columns: Sequence[AnalyzedColumn], sources: Sequence[tuple[int, int]]
    ) -> str | None:
        """The table whose every column, in order and with its own nullability, is the result."""
        if not sources or len({oid for oid, _ in sources}) != 1:
            return None
        oid = sources[0][0]
        relation = self._relation(oid) if oid else None
        if relation is None or relation.kind not in _TABLE_KINDS:
            return None
        attributes = self._attributes_of(oid)
        if [number for _, number in sources] != [a.number for a in attributes]:
            return None
        for column, attribute in zip(columns, attributes, strict=True):
            # Renamed, or made nullable by an outer join or a `?` alias: not the model.
            if column.name != attribute.name or column.nullable != (not attribute.not_null):
                return None
        return table_key(relation.schema, relation.name)

    # --- the catalog ----------------------------------------------------------

    def pg_type(self, oid: int) -> PgType:
        """The type ``oid``, with its array element, domain base and enum labels resolved."""
        if oid in self._types:
            return self._types[oid]
        row = self._conn.execute(
            """
            SELECT t.typname, n.nspname, t.typcategory, t.typtype, t.typelem, t.typbasetype,
                   ARRAY(SELECT e.enumlabel FROM pg_enum e
                         WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.oid = %s
            """,
            [oid],
        ).fetchone()
        assert row is not None, f"the server described a type it does not know: {oid}"
        name, schema, category, kind, element, base, labels = row
        assert isinstance(name, str) and isinstance(schema, str)
        assert isinstance(category, str) and isinstance(kind, str)
        assert isinstance(element, int) and isinstance(base, int) and isinstance(labels, list)
        resolved = PgType(
            oid=oid,
            name=name,
            schema=schema,
            category=category,
            element=self.pg_type(element) if category == "A" and element else None,
            base=self.pg_type(base) if kind == "d" else None,
            enum_labels=tuple(str(label) for label in cast(list[object], labels)),
            fields=self._composite_fields(oid) if kind == "c" else (),
        )
        self._types[oid] = resolved
        return resolved

    def _composite_fields(self, oid: int) -> tuple[CompositeField, ...]:
        """The attributes of a composite type of its own; () for a table's (or view's) row type.

        A table's row type is left unmapped: its model's NOT NULL fields would be a lie for
        ``ROW(NULL, ...)::t``, and ``sqlc.embed(t)`` is the way to return a table's row.
        """
        rows = self._conn.execute(
            """
            SELECT a.attname, a.atttypid::int8
            FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE t.oid = %s AND c.relkind = 'c'
            ORDER BY a.attnum
            """,
            [oid],
        ).fetchall()
        return tuple(
            CompositeField(str(name), self.pg_type(_int(type_oid))) for name, type_oid in rows
        )

    def _relation(self, oid: int) -> _Relation | None:
        if oid not in self._relations:
            row = self._conn.execute(
                """
                SELECT n.nspname, c.relname, c.relkind::text
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = %s
                """,
                [oid],
            ).fetchone()
            self._relations[oid] = _Relation(str(row[0]), str(row[1]), str(row[2])) if row else None
        return self._relations[oid]

    def _attributes_of(self, oid: int) -> tuple[_Attribute, ...]:
        if oid not in self._attributes:
            rows = self._conn.execute(
                """
                SELECT attnum, attname, atttypid::int8, attnotnull FROM pg_attribute
                WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
                ORDER BY attnum
                """,
                [oid],
            ).fetchall()
            self._attributes[oid] = tuple(
                _Attribute(_int(number), str(name), _int(type_oid), not_null is True)
                for number, name, type_oid, not_null in rows
            )
        return self._attributes[oid]

    def _attribute(self, oid: int, number: int) -> _Attribute | None:
        return next((a for a in self._attributes_of(oid) if a.number == number), None)

    def tables(self) -> tuple[AnalyzedTable, ...]:
        rows = self._conn.execute(
            """
            SELECT c.oid::int8, n.nspname, c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_%%'
              AND NOT (c.relname = ANY(%s))
              -- Outside public, an extension's own tables (pg_cron's cron.job...) are not
              -- the schema the migrations build.
              AND (n.nspname = 'public' OR NOT EXISTS (
                  SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
            ORDER BY n.nspname, c.relname
            """,
            [list(migrate.YOYO_TABLES)],
        ).fetchall()
        tables: list[AnalyzedTable] = []
        for oid, schema, name in rows:
            columns = tuple(
                AnalyzedColumn(
                    name=a.name,
                    type=self.pg_type(a.type_oid),
                    nullable=not a.not_null,
                    table=str(name),
                    table_column=a.name,
                    # NOT NULL says nothing of an array's elements.
                    element_nullable=is_array(self.pg_type(a.type_oid)),
                )
                for a in self._attributes_of(_int(oid))
            )
            tables.append(AnalyzedTable(str(schema), str(name), columns))
        return tuple(tables)

    def enums(self) -> tuple[PgType, ...]:
        rows = self._conn.execute(
            """
            SELECT t.oid::int8 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'e'
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_%%'
            ORDER BY n.nspname, t.typname
            """
        ).fetchall()
        return tuple(self.pg_type(_int(oid)) for (oid,) in rows)

    def composites(self) -> tuple[PgType, ...]:
        rows = self._conn.execute(
            """
            SELECT t.oid::int8 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_class c ON c.oid = t.typrelid
            WHERE t.typtype = 'c' AND c.relkind = 'c'
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_%%'
            ORDER BY n.nspname, t.typname
            """
        ).fetchall()
        return tuple(self.pg_type(_int(oid)) for (oid,) in rows)


def embed_relations(statement: str) -> dict[str, tuple[_FromItem, ...]]:
    """What each name visible in the statement's own FROM clause refers to.

    Only the top-level statement's FROM items (joins included; for UPDATE and
    DELETE also the target table and USING) are looked at, never a subquery's:
    ``SELECT sqlc.embed(b), (SELECT count(*) FROM borrowers b) FROM books b``
    embeds books. Each name maps to every item it names, so more than one is
    ambiguous.
    """
    (raw,) = parse_sql(statement)
    found: dict[str, list[_FromItem]] = {}
    items: list[object] = []
    with_clause: object = None
    match raw.stmt:
        case ast.SelectStmt(fromClause=from_clause, withClause=with_clause):
            items = list(cast(tuple[object, ...], from_clause or ()))
        case ast.UpdateStmt(relation=target, fromClause=from_clause, withClause=with_clause):
            items = [target, *cast(tuple[object, ...], from_clause or ())]
        case ast.DeleteStmt(relation=target, usingClause=using, withClause=with_clause):
            items = [target, *cast(tuple[object, ...], using or ())]
        case ast.InsertStmt(relation=target, withClause=with_clause):
            items = [target]
        case _:
            pass  # any other statement has no FROM clause
    ctes = (
        {str(cte.ctename) for cte in cast(tuple[ast.CommonTableExpr, ...], with_clause.ctes or ())}
        if isinstance(with_clause, ast.WithClause)
        else set[str]()
    )

    def add(item: object) -> None:
        match item:
            case ast.RangeVar(relname=str(table), schemaname=schema, alias=alias):
                key = alias.aliasname if isinstance(alias, ast.Alias) else table
                qualified = schema if isinstance(schema, str) else None
                is_cte = qualified is None and table in ctes
                found.setdefault(str(key), []).append(None if is_cte else (qualified, table))
            case ast.JoinExpr(alias=ast.Alias(aliasname=str(name))):
                found.setdefault(name, []).append(None)  # hides the tables it joins
            case ast.JoinExpr(larg=left, rarg=right):
                add(left)
                add(right)
            case (
                ast.RangeSubselect(alias=ast.Alias(aliasname=str(name)))
                | ast.RangeFunction(alias=ast.Alias(aliasname=str(name)))
            ):
                found.setdefault(name, []).append(None)
            case _:
                pass  # an unnamed function call or other item: nothing to embed

    for item in items:
        add(item)
    return {name: tuple(refs) for name, refs in found.items()}


def output_targets(statement: str) -> tuple[str | None, ...] | None:
    """The statement's output list (a SELECT's targets, a RETURNING list), one entry a target:
    ``x`` for ``x.*`` (``s.x`` for ``s.x.*``), "" for any other expansion (``*``,
    ``(expr).*``), None for a target of one column; None for a set operation (UNION ...)."""
    (raw,) = parse_sql(statement)
    match raw.stmt:
        case ast.SelectStmt(op=op, targetList=targets) if op in (None, SetOperation.SETOP_NONE):
            pass
        case (
            ast.InsertStmt(returningClause=ast.ReturningClause(exprs=targets))
            | ast.UpdateStmt(returningClause=ast.ReturningClause(exprs=targets))
            | ast.DeleteStmt(returningClause=ast.ReturningClause(exprs=targets))
        ):
            pass
        case _:
            return None
    found: list[str | None] = []
    for target in cast(tuple[ast.ResTarget, ...], targets or ()):
        match target.val:
            case ast.ColumnRef(fields=fields) if fields and isinstance(fields[-1], ast.A_Star):
                names = strings(fields[:-1])
                found.append(".".join(names) if names else "")
            case ast.A_Indirection(indirection=path) if path and isinstance(path[-1], ast.A_Star):
                found.append("")
            case _:
                found.append(None)
    return tuple(found)


def _column_name(names: Sequence[str], index: int, raw: str) -> str:
    if index < len(names) and names[index]:
        return names[index]
    # A `!`/`?` nullability override is not part of the name.
    return raw.removesuffix("!").removesuffix("?")


def _column_nullable(facts: nullability.StatementFacts, index: int, count: int) -> bool:
    if len(facts.column_forced) == count and facts.column_forced[index] is not None:
        return facts.column_forced[index] is True
    if len(facts.column_nullable) == count:
        return facts.column_nullable[index]
    # Inference could not line its columns up with the server's: without proof, nullable.
    return True


def _elements_nullable(facts: nullability.StatementFacts, index: int, count: int) -> bool:
    if len(facts.column_elements_nullable) == count:
        return facts.column_elements_nullable[index]
    return True  # not lined up with the server's columns: no proof


def is_array(pg: PgType) -> bool:
    """An array type, or a domain over one."""
    while pg.base is not None:
        pg = pg.base
    return pg.element is not None


def _int(value: object) -> int:
    assert isinstance(value, int), value
    return value
