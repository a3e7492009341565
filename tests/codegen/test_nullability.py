"""Nullability inference from the AST, against a dict-backed catalog (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from connlog.codegen.analysis.nullability import StatementFacts, infer, split_override
from connlog.codegen.model import CatalogColumn, FunctionFacts, SqlFunction

N, NN = True, False  # nullable, not null: what column_nullable holds


def _table(spec: str) -> tuple[CatalogColumn, ...]:
    """ "id!:N, name!:S, email:S" -> columns; ``!`` marks NOT NULL, ``:X`` the type category."""
    columns: list[CatalogColumn] = []
    for item in spec.split(","):
        name, _, category = item.strip().partition(":")
        columns.append(CatalogColumn(name.rstrip("!"), name.endswith("!"), category))
    return tuple(columns)


@dataclass(frozen=True, slots=True)
class DictCatalog:
    tables: dict[tuple[str, str], tuple[CatalogColumn, ...]] = field(
        default_factory=lambda: {
            ("public", "users"): _table("id!:N, name!:S, email:S"),
            ("public", "orders"): _table("id!:N, user_id!:N, note:S, total!:N"),
            ("app", "things"): _table("id!:N, label:S"),
            ("public", "shapes"): _table("id!:N, period!:R, tags!:A, pair!:C, pairs:A"),
        }
    )

    def columns(self, schema: str | None, table: str) -> tuple[CatalogColumn, ...] | None:
        return self.tables.get((schema or "public", table))

    def function(self, schema: str | None, name: str) -> FunctionFacts | None:
        """pg_catalog's functions as PostgreSQL has them; the user's as ``FUNCTIONS`` says."""
        if schema not in (None, "pg_catalog"):
            return FUNCTIONS.get(f"{schema}.{name}")
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        if name in _AGGREGATES:
            return FunctionFacts(frozenset("a"), returns_set=False, builtin=True)
        if name in ("generate_series", "unnest", "jsonb_array_elements"):
            return FunctionFacts(frozenset("f"), returns_set=True, builtin=True)
        if name.startswith("my_") or name.startswith("some_"):
            return None
        return FunctionFacts(frozenset("f"), returns_set=False, builtin=True)

    def sql_function(self, schema: str | None, name: str, arity: int) -> SqlFunction | None:
        found = SQL_FUNCTIONS.get(name if schema is None else f"{schema}.{name}")
        return found if found is not None and len(found.arguments) == arity else None


_AGGREGATES = frozenset(
    {"count", "sum", "avg", "min", "max", "array_agg", "string_agg", "percentile_cont", "bool_and"}
)
# User-defined functions (and a user's overload of a built-in name).
FUNCTIONS: dict[str, FunctionFacts] = {
    "my_aggregate": FunctionFacts(frozenset("a"), returns_set=False, builtin=False),
    "my_scalar": FunctionFacts(frozenset("f"), returns_set=False, builtin=False),
    "my_rows": FunctionFacts(frozenset("f"), returns_set=True, builtin=False),
    "app.total": FunctionFacts(frozenset("a"), returns_set=False, builtin=False),
    **{
        name: FunctionFacts(frozenset("f"), returns_set=False, builtin=False)
        for name in ("twice", "label", "first_user", "user_count", "loop", "qualified")
    },
    "reverse": FunctionFacts(frozenset("f"), returns_set=False, builtin=False),
}
SQL_FUNCTIONS: dict[str, SqlFunction] = {
    "my_scalar": SqlFunction("SELECT $1 || 'x'", strict=False, arguments=("",)),
    "twice": SqlFunction("SELECT x * 2", strict=True, arguments=("x",)),
    "label": SqlFunction("SELECT h || coalesce(e, '')", strict=False, arguments=("h", "e")),
    "first_user": SqlFunction("SELECT name FROM users LIMIT 1", strict=False, arguments=()),
    "user_count": SqlFunction("SELECT count(*) FROM users", strict=False, arguments=()),
    "loop": SqlFunction("SELECT loop()", strict=False, arguments=()),
    "qualified": SqlFunction("SELECT qualified.a + 1", strict=True, arguments=("a",)),
}


CATALOG = DictCatalog()


def facts(sql: str) -> StatementFacts:
    return infer(sql, CATALOG)


def nulls(sql: str) -> tuple[bool, ...]:
    result = facts(sql)
    assert len(result.column_names) == len(result.column_nullable) == len(result.column_forced)
    return result.column_nullable


# --- table columns and joins ----------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT id, name, email FROM users", (NN, NN, N)),
        ("SELECT u.id, users.email FROM users u, users", (NN, N)),
        ("SELECT public.users.id FROM public.users", (NN,)),
        ("SELECT t.id, t.label, app.things.id FROM app.things AS t, app.things", (NN, N, NN)),
        ("SELECT * FROM users", (NN, NN, N)),
        ("SELECT u.* FROM users u", (NN, NN, N)),
        ("SELECT *, 1 FROM users JOIN orders ON true", (NN, NN, N, NN, NN, N, NN, NN)),
        # unqualified names are searched in every FROM item; ambiguous -> nullable
        ("SELECT name, total, id FROM users JOIN orders ON true", (NN, NN, N)),
        ("SELECT nosuch, u.nosuch FROM users u", (N, N)),
        ("SELECT id FROM nosuch", (N,)),
    ],
)
def test_table_columns(sql: str, expected: tuple[bool, ...]) -> None:
    assert nulls(sql) == expected


@pytest.mark.parametrize(
    ("join", "users_side", "orders_side"),
    [
        ("JOIN", NN, NN),
        ("INNER JOIN", NN, NN),
        ("CROSS JOIN", NN, NN),
        ("LEFT JOIN", NN, N),
        ("LEFT OUTER JOIN", NN, N),
        ("RIGHT JOIN", N, NN),
        ("FULL JOIN", N, N),
        ("FULL OUTER JOIN", N, N),
    ],
)
def test_outer_joins_make_a_side_nullable(join: str, users_side: bool, orders_side: bool) -> None:
    on = "" if join == "CROSS JOIN" else " ON o.user_id = u.id"
    sql = f"SELECT u.id, u.name, o.id, o.total, o.note FROM users u {join} orders o{on}"
    assert nulls(sql) == (users_side, users_side, orders_side, orders_side, N)


def test_nested_joins() -> None:
    sql = (
        "SELECT a.id, b.id, c.id FROM users a "
        "JOIN (orders b LEFT JOIN users c ON c.id = b.user_id) ON b.user_id = a.id"
    )
    assert nulls(sql) == (NN, NN, N)
    sql = "SELECT a.id, b.id, c.id FROM users a LEFT JOIN orders b ON true JOIN users c ON true"
    assert nulls(sql) == (NN, N, NN)
    sql = "SELECT a.id, b.id, c.id FROM users a JOIN orders b ON true RIGHT JOIN users c ON true"
    assert nulls(sql) == (N, N, NN)


def test_join_using_merges_columns() -> None:
    sql = "SELECT * FROM users a JOIN users b USING (id)"
    assert facts(sql).column_names == ("id", "name", "email", "name", "email")
    assert nulls(sql) == (NN, NN, N, NN, N)
    assert nulls("SELECT id, b.id FROM users a LEFT JOIN users b USING (id)") == (NN, N)
    assert nulls("SELECT id FROM users a RIGHT JOIN users b USING (id)") == (NN,)
    # FULL JOIN USING: COALESCE(a.id, b.id), not null when both are ...
    assert nulls("SELECT id, a.id FROM users a FULL JOIN users b USING (id)") == (NN, N)
    # ... and NULL in a row of the side whose column is NULL, when one is nullable.
    sql = "SELECT id FROM users a FULL JOIN (SELECT email AS id FROM users) b USING (id)"
    assert nulls(sql) == (N,)
    assert nulls("SELECT email FROM users NATURAL FULL JOIN (SELECT 'x' AS email) b") == (N,)
    assert nulls("SELECT * FROM users NATURAL JOIN users AS u2") == (NN, NN, N)


def test_join_alias() -> None:
    sql = "SELECT j.id, j.name FROM (users a LEFT JOIN orders b USING (id)) AS j"
    assert nulls(sql) == (NN, NN)


# --- CTEs, subqueries, LATERAL -----------------------------------------------------


def test_cte_columns_are_inferred_from_its_select() -> None:
    sql = "WITH c AS (SELECT id, email, count(*) AS n FROM users GROUP BY id) SELECT * FROM c"
    assert nulls(sql) == (NN, N, NN)
    assert facts(sql).column_names == ("id", "email", "n")


def test_cte_shadows_a_table_and_renames() -> None:
    sql = "WITH users(x, y) AS (SELECT NULL::int, 1) SELECT x, y, users.y FROM users"
    assert nulls(sql) == (N, NN, NN)
    sql = "WITH c AS (SELECT 1 AS a) SELECT c.a FROM users LEFT JOIN c ON true"
    assert nulls(sql) == (N,)


def test_recursive_cte_reaches_a_fixed_point() -> None:
    sql = (
        "WITH RECURSIVE r(n, m) AS (SELECT 1, 1 UNION ALL SELECT n + 1, NULL FROM r WHERE n < 5) "
        "SELECT n, m FROM r"
    )
    assert nulls(sql) == (NN, N)


def test_data_modifying_cte() -> None:
    sql = "WITH ins AS (INSERT INTO users (name) VALUES ('a') RETURNING *) SELECT * FROM ins"
    assert nulls(sql) == (NN, NN, N)


def test_subqueries_in_from() -> None:
    sql = "SELECT s.id, s.n, s.e FROM (SELECT id, 1 AS n, email AS e FROM users) s"
    assert nulls(sql) == (NN, NN, N)
    sql = "SELECT s.* FROM users u LEFT JOIN (SELECT id FROM orders) AS s ON s.id = u.id"
    assert nulls(sql) == (N,)
    sql = "SELECT s.x FROM (SELECT id FROM users) AS s(x)"
    assert nulls(sql) == (NN,)


def test_lateral() -> None:
    sql = (
        "SELECT u.id, l.total, l.uid FROM users u "
        "LEFT JOIN LATERAL (SELECT total, u.id AS uid FROM orders o WHERE o.user_id = u.id) l "
        "ON true"
    )
    assert nulls(sql) == (NN, N, N)
    sql = "SELECT l.uid FROM users u, LATERAL (SELECT u.id AS uid, u.email AS e) l"
    assert nulls(sql) == (NN,)


def test_functions_in_from_are_unknown() -> None:
    assert nulls("SELECT g FROM generate_series(1, 3) g") == (N,)
    assert nulls("SELECT a FROM jsonb_to_record('{}') AS r(a int)") == (N,)
    # ``*`` over an unknown relation cannot be lined up with describe: no facts at all.
    result = facts("SELECT * FROM generate_series(1, 3) g")
    assert result.column_nullable == () and result.column_names == ()


def test_correlated_reference_to_an_outer_query() -> None:
    sql = "SELECT (SELECT s.x FROM (SELECT u.id AS x) s WHERE s.x > 1) AS v FROM users u"
    assert nulls(sql) == (N,)  # a scalar subquery may return no row
    sql = "SELECT (SELECT s.x FROM (SELECT u.id AS x) s) AS v FROM users u"
    assert nulls(sql) == (NN,)  # ... but this one always returns its one row


# --- expressions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1", NN),
        ("'text'", NN),
        ("true", NN),
        ("NULL", N),
        ("NULL::int", N),
        ("id::text", NN),
        ("email::text", N),
        ("$1", NN),  # a required parameter (sqlc.narg is the nullable one)
        ("count(*)", NN),
        ("count(email)", NN),
        ("count(DISTINCT email) FILTER (WHERE id > 1)", NN),
        ("sum(id)", N),
        ("min(id)", N),
        ("max(name)", N),
        ("avg(id)", N),
        ("string_agg(name, ',')", N),
        ("array_agg(id)", N),
        ("EXISTS (SELECT 1 FROM orders)", NN),
        ("NOT EXISTS (SELECT 1 FROM orders)", NN),
        ("(SELECT id FROM orders LIMIT 1)", N),
        ("ARRAY(SELECT id FROM orders)", NN),
        ("ARRAY[email]", NN),
        ("id IN (SELECT user_id FROM orders)", N),
        ("email IS NULL", NN),
        ("email IS NOT NULL", NN),
        ("(email = 'x') IS TRUE", NN),
        ("(email = 'x') IS NOT FALSE", NN),
        ("(email = 'x') IS UNKNOWN", NN),
        ("email IS DISTINCT FROM 'x'", NN),
        ("row_number() OVER ()", NN),
        ("rank() OVER (ORDER BY id)", NN),
        ("dense_rank() OVER ()", NN),
        ("ntile(4) OVER ()", NN),
        ("lag(id) OVER ()", N),
        ("sum(id) OVER ()", N),
        ("count(*) OVER ()", NN),
        ("id + 1", NN),
        ("-id", NN),
        ("id + email::int", N),
        ("id * $1", NN),
        ("id = 1", NN),
        ("email = 'x'", N),
        ("name || 'x'", NN),
        ("name LIKE 'a%'", NN),
        ("email ILIKE 'a%'", N),
        ("id BETWEEN 1 AND 2", NN),
        ("id IN (1, 2)", NN),
        ("id IN (1, NULL)", N),
        ("id = ANY('{1,2}'::int[])", N),
        ("NULLIF(id, 1)", N),
        ("id > 1 AND name = 'a'", NN),
        ("id > 1 OR email = 'a'", N),
        ("NOT (id > 1)", NN),
        ("NOT (email = 'a')", N),
        ("'{}'::jsonb -> 'k'", N),
        ("'{}'::jsonb ->> 'k'", N),
        ("COALESCE(email, name)", NN),
        ("COALESCE(email, NULL)", N),
        ("COALESCE(email, 'none')", NN),
        ("GREATEST(email, name)", NN),
        ("CASE WHEN id > 1 THEN 'a' ELSE 'b' END", NN),
        ("CASE WHEN id > 1 THEN 'a' END", N),
        ("CASE WHEN id > 1 THEN email ELSE 'b' END", N),
        ("CASE id WHEN 1 THEN name ELSE 'b' END", NN),
        ("lower(name)", NN),
        ("upper(email)", N),
        ("length(name)", NN),
        ("pg_catalog.lower(name)", NN),
        ("myschema.lower(name)", N),
        ("some_function(name)", N),
        ("concat(email, NULL)", NN),
        ("concat(VARIADIC NULL::text[])", N),  # the array is the argument, and it is NULL
        ("num_nulls(VARIADIC ARRAY[email])", NN),  # an array, not NULL: a count
        ("now()", NN),
        ("CURRENT_TIMESTAMP", NN),
        ("current_schema", N),
        ("ROW(1, 2)", NN),
        ('name COLLATE "C"', NN),
    ],
)
def test_expression(expr: str, expected: bool) -> None:
    assert nulls(f"SELECT {expr} FROM users") == (expected,)


def test_grouping_sets_make_grouped_columns_nullable() -> None:
    assert nulls("SELECT name, count(*) FROM users GROUP BY ROLLUP (name)") == (N, NN)
    assert nulls("SELECT name FROM users GROUP BY name") == (NN,)
    # A grouping expression is NULL in the total's row whatever it is made of, and any
    # target may be one (by position too); count and GROUPING never are.
    grouped = "coalesce(email, 'none')"
    sql = f"SELECT {grouped}, count(*) FROM users GROUP BY ROLLUP ({grouped})"
    assert nulls(sql) == (N, NN)
    kind = "CASE WHEN email IS NULL THEN 'a' ELSE 'b' END"
    sql = f"SELECT {kind}, count(*) FROM users GROUP BY ROLLUP (1)"
    assert nulls(sql) == (N, NN)
    sql = "SELECT u.*, grouping(name) FROM users u GROUP BY CUBE (id, name, email)"
    assert nulls(sql) == (N, N, N, NN)
    sql = "SELECT coalesce(email, 'none') AS e, count(*) FROM users GROUP BY ROLLUP (e)"
    assert nulls(sql) == (N, NN)  # grouped by its alias
    sql = f"SELECT upper({grouped}) FROM users GROUP BY ROLLUP ({grouped})"
    assert nulls(sql) == (N,)  # upper(NULL)
    # PostgreSQL matches a grouping expression to every target equal to it once names are
    # resolved, whatever the spelling: unless the sets group by columns alone, any target
    # (but count and GROUPING) may be NULL.
    rolled = "ROLLUP (coalesce(email, 'none'::text))"
    assert nulls(f"SELECT coalesce(email, 'none'), count(*) FROM users GROUP BY {rolled}") == (
        N,
        NN,
    )
    sql = "SELECT coalesce(email, 'n') AS label, coalesce(email, 'n') || '!', count(*) FROM users"
    assert nulls(sql + " GROUP BY ROLLUP (label)") == (N, N, NN)
    sql = "SELECT u.*, coalesce(email, 'n') FROM users u GROUP BY id, ROLLUP (4)"
    assert nulls(sql) == (N, N, N, N)
    sql = (
        "SELECT ROW(id, name) AS r, count(*) FROM users GROUP BY GROUPING SETS (ROW(id, name), ())"
    )
    assert nulls(sql) == (N, NN)
    assert nulls("SELECT (SELECT 1), count(*) FROM users GROUP BY ROLLUP ((SELECT 1))") == (N, NN)
    sql = "SELECT coalesce(u.email, 'n') FROM users u GROUP BY ROLLUP (coalesce(email, 'n'))"
    assert nulls(sql) == (N,)
    sql = "SELECT coalesce(email, 'n') FROM users GROUP BY CUBE ((coalesce(email, 'n'), id))"
    assert nulls(sql) == (N,)
    # What is not grouped by keeps what it is: the idiom for the total's label, a constant,
    # a window function.
    sql = "SELECT coalesce(email, 'All') AS email, 'x' AS k, row_number() OVER () FROM users "
    assert nulls(sql + "GROUP BY ROLLUP (email)") == (NN, NN, NN)
    sql = 'SELECT name AS "name!", count(*) FROM users GROUP BY GROUPING SETS ((name), ())'
    assert nulls(sql) == (NN, NN)  # the user's override still holds


# --- set operations and VALUES ------------------------------------------------------


def test_set_operations() -> None:
    assert nulls("SELECT id, name FROM users UNION SELECT id, email FROM users") == (NN, N)
    assert nulls("SELECT 1 INTERSECT SELECT NULL") == (N,)
    assert nulls("SELECT 1 EXCEPT SELECT 2") == (NN,)
    assert nulls("SELECT 1 UNION SELECT 2 UNION ALL SELECT NULL") == (N,)
    sql = "SELECT id AS a FROM users UNION ALL SELECT 1"
    assert facts(sql).column_names == ("a",)


def test_values() -> None:
    assert nulls("VALUES (1, 'a'), (2, NULL)") == (NN, N)
    assert facts("VALUES (1)").column_names == ("column1",)


# --- overrides --------------------------------------------------------------------


def test_overrides() -> None:
    result = facts('SELECT max(id) AS "top!", id AS "maybe?", name AS plain, 1 FROM users')
    assert result.column_names == ("top", "maybe", "plain", "?column?")
    assert result.column_forced == (NN, N, None, None)
    assert result.column_nullable == (NN, N, NN, NN)


def test_override_wins_over_a_set_operation() -> None:
    result = facts('SELECT max(id) AS "m!" FROM users UNION SELECT NULL')
    assert (result.column_names, result.column_nullable) == (("m",), (NN,))


@pytest.mark.parametrize(
    ("name", "split"),
    [("count!", ("count", False)), ("x?", ("x", True)), ("x", ("x", None)), ("!", ("!", None))],
)
def test_split_override(name: str, split: tuple[str, bool | None]) -> None:
    assert split_override(name) == split


def test_column_names() -> None:
    sql = (
        "SELECT u.id, count(*), email::text, 1, CASE WHEN true THEN 1 END, COALESCE(1), "
        "EXISTS (SELECT 1), 1::int, x.y, (SELECT 1), NULLIF(1, 2), CURRENT_TIMESTAMP, "
        "current_user FROM users u, (SELECT 1 AS y) x"
    )
    assert facts(sql).column_names == (
        "id",
        "count",
        "email",
        "?column?",
        "case",
        "coalesce",
        "exists",
        "int4",
        "y",
        "",  # the server knows best
        "nullif",
        "current_timestamp",
        "current_user",
    )


# --- INSERT / UPDATE / DELETE -------------------------------------------------------


def test_returning() -> None:
    assert nulls("INSERT INTO users (name) VALUES ('a') RETURNING id, email, *") == (
        NN,
        N,
        NN,
        NN,
        N,
    )
    assert nulls("UPDATE users SET name = 'b' RETURNING id, email") == (NN, N)
    assert nulls("DELETE FROM users u RETURNING u.id, u.email") == (NN, N)
    assert nulls("UPDATE users u SET name = o.note FROM orders o RETURNING o.id, o.note") == (NN, N)
    sql = "UPDATE users SET name = 'x' FROM orders o LEFT JOIN app.things t ON true RETURNING t.id"
    assert nulls(sql) == (N,)
    assert nulls("DELETE FROM users USING orders RETURNING *") == (NN, NN, N, NN, NN, N, NN)
    assert nulls("INSERT INTO users (name) VALUES ('a')") == ()


def test_param_nullable() -> None:
    assert facts("INSERT INTO users (id, name, email) VALUES ($1, $2, $3)").param_nullable == {3}
    assert facts("INSERT INTO users VALUES ($1, $2, $3::text)").param_nullable == {3}
    assert facts("INSERT INTO users (email) VALUES ($1), ($2)").param_nullable == {1, 2}
    assert facts("INSERT INTO users (email, name) SELECT $1, $2").param_nullable == {1}
    sql = "UPDATE users SET email = $1, name = $2 WHERE id = $3"
    assert facts(sql).param_nullable == {1}
    sql = (
        "INSERT INTO users (id, name) VALUES ($1, $2) "
        "ON CONFLICT (id) DO UPDATE SET email = $3, name = $4"
    )
    assert facts(sql).param_nullable == {3}
    assert facts("SELECT * FROM users WHERE email = $1").param_nullable == frozenset()
    assert facts("INSERT INTO nosuch (a) VALUES ($1)").param_nullable == frozenset()


@pytest.mark.parametrize(
    ("sql", "certain"),
    [
        ("INSERT INTO users (name) VALUES ('a') RETURNING id", True),
        ("INSERT INTO users (name) VALUES ('a') ON CONFLICT (id) DO UPDATE SET name = 'b' "
         "RETURNING id", True),
        ("INSERT INTO users (name) VALUES ('a') ON CONFLICT (id) DO UPDATE SET name = 'b' "
         "WHERE users.id > 1 RETURNING id", False),
        ("INSERT INTO users (name) VALUES ('a') ON CONFLICT DO NOTHING RETURNING id", False),
        ("INSERT INTO users (name) VALUES ('a'), ('b') RETURNING id", False),
        ("INSERT INTO users (name) VALUES ('a')", False),
        ("INSERT INTO users (name) SELECT 'a' RETURNING id", False),
        ("UPDATE users SET name = 'a' WHERE id = 1 RETURNING id", False),
        ("SELECT 1", True),  # no FROM: one row
        # One group: an aggregate with no GROUP BY is one row, even over no rows.
        ("SELECT count(*) FROM users", True),
        ("SELECT count(*) AS count FROM (SELECT 1 FROM users WHERE id > $1 LIMIT $2) AS capped",
         True),
        ("SELECT count(*), max(id) FROM users WHERE false", True),
        ("SELECT pg_catalog.count(*) FROM users", True),
        ("SELECT count(*)", True),
        ("SELECT 1 AS one, sum(total) FILTER (WHERE note IS NULL) FROM orders", True),
        ("SELECT coalesce(sum(total), 0) + 1, round(avg(total), 2) FROM orders", True),
        ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total) FROM orders", True),
        ("SELECT DISTINCT count(*) FROM users ORDER BY 1", True),
        ("SELECT count(*), rank() OVER () FROM users", True),
        ("SELECT (SELECT u.id FROM users u LIMIT 1), count(*) FROM orders", True),
        ("WITH o AS (SELECT * FROM orders) SELECT count(*) FROM o JOIN users ON true", True),
        ("SELECT count(*) FROM generate_series(1, 3)", True),
        ("SELECT count(*) FROM users FOR UPDATE", True),  # an error: never returns at all
        # ... but not when grouped, filtered, limited, combined, or maybe multiplied.
        ("SELECT count(*) FROM users GROUP BY name", False),
        ("SELECT count(*) FROM users GROUP BY ()", False),
        ("SELECT count(*) FROM users HAVING count(*) > 1", False),
        ("SELECT count(*) FROM users LIMIT 1", False),
        ("SELECT count(*) FROM users LIMIT $1", False),
        ("SELECT count(*) FROM users OFFSET 1", False),
        ("SELECT count(*) FROM users FETCH FIRST 1 ROW ONLY", False),
        ("SELECT count(*) FROM users UNION ALL SELECT 1", False),
        ("SELECT count(*) INTO counted FROM users", False),
        ("SELECT count(*), generate_series(1, 3) FROM users", False),
        ("SELECT count(*), lower(unnest(ARRAY['a'])) FROM users", False),
        ("SELECT count(*), my_function() FROM users", False),
        ("SELECT app.count(*) FROM users", False),
        # pg_proc classifies a user's aggregates and functions as it does built-in ones.
        ("SELECT my_aggregate(id) FROM users", True),
        ("SELECT app.total(id), my_scalar(1) FROM users", True),
        ("SELECT count(*), my_rows() FROM users", False),
        ("SELECT count(*) OVER () FROM users", False),
        ("SELECT count(*) FROM users ORDER BY generate_series(1, 3)", False),
        ("SELECT (SELECT count(*) FROM users)", True),
        ("SELECT id FROM users WHERE id IN (SELECT max(id) FROM users)", False),
        ("SELECT * FROM (SELECT count(*) FROM users) AS c", True),  # over one row
    ],
)  # fmt: skip
def test_row_is_certain(sql: str, certain: bool) -> None:
    assert facts(sql).row_is_certain is certain


# --- soundness: never NOT NULL without proof ------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # A row comparison is NULL when any field on either side is.
        ("(id, email) = (1, 'x')", N),
        ("(id, name) = (1, 'x')", NN),
        ("ROW(id, name) < ROW(2, email)", N),
        ("(id, name) IN ((1, 'a'), (2, NULL))", N),
        ("(id, name) IN ((1, 'a'), (2, 'b'))", NN),
        ("(id, (name, email)) = (1, ('a', 'b'))", N),
        ("(id, email) IS DISTINCT FROM (1, 'x')", NN),
    ],
)
def test_row_comparisons(expr: str, expected: bool) -> None:
    assert nulls(f"SELECT {expr} FROM users") == (expected,)


def test_composite_values_compare_as_rows() -> None:
    # pair is a NOT NULL composite column: its fields may still be NULL.
    assert nulls("SELECT pair = pair, id = id FROM shapes") == (N, NN)
    assert nulls("SELECT r = r FROM (SELECT ROW(1, NULL) AS r) s") == (N,)
    assert nulls("SELECT r IS NULL FROM (SELECT ROW(1, NULL) AS r) s") == (NN,)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # lower/upper of an empty or unbounded range is NULL: only text is proof.
        ("lower(period)", N),
        ("upper(period)", N),
        ("lower(id::text)", NN),
        ("lower('a')", NN),
        ("upper(lower(period::text))", NN),
        ("lower((SELECT name FROM users LIMIT 1))", N),
        # Strict, yet NULL for not-null arguments.
        ("substring('abc' from 'x+')", N),
        ("array_length(tags, 1)", N),
        ("extract(month from now())", N),
        ("to_char(now(), 'YYYY')", N),
        ("array_position(tags, 'a')", N),
        # Never NULL for not-null arguments.
        ("cardinality(tags)", NN),
        ("upper_inf(period)", NN),
        ("jsonb_build_array(id, NULL)", NN),
        ("concat_ws(',', id, NULL)", NN),
        ("concat_ws(NULL, id)", N),
    ],
)
def test_only_listed_functions_propagate_not_null(expr: str, expected: bool) -> None:
    assert nulls(f"SELECT {expr} FROM shapes") == (expected,)


def test_params_written_in_a_data_modifying_cte() -> None:
    sql = (
        "WITH ins AS (INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING id) "
        "SELECT id FROM ins"
    )
    assert facts(sql).param_nullable == {3}
    assert facts(sql).param_columns[3] == ("users", "email")
    sql = (
        "WITH up AS (UPDATE orders SET note = $1, total = $2 WHERE id = $3 RETURNING id) "
        "SELECT count(*) FROM up"
    )
    assert facts(sql).param_nullable == {1}
    sql = (
        "WITH a AS (INSERT INTO users (id, name, email) VALUES (1, 'a', $1) RETURNING id), "
        "b AS (INSERT INTO orders (id, user_id, total, note) VALUES (1, 1, 1, $1)) SELECT 1"
    )
    assert facts(sql).param_nullable == {1}
    # Written into a nullable and a NOT NULL column: None would fail the NOT NULL one.
    sql = "WITH a AS (INSERT INTO users (id, name, email) VALUES (1, $1, $1) RETURNING id) SELECT 1"
    assert facts(sql).param_nullable == frozenset()


def elements(sql: str) -> tuple[bool, ...]:
    return facts(sql).column_elements_nullable


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("tags", N),  # a NOT NULL array column may hold NULL elements
        ("array_agg(id)", NN),
        ("array_agg(id ORDER BY id DESC)", NN),
        ("array_agg(id::text)", NN),
        ("array_agg(tags)", N),  # its elements are the elements of tags
        ("array_agg(pairs)", N),
        ("array_agg(CASE WHEN id > 0 THEN id END)", N),
        ("ARRAY[1, 2]", NN),
        ("ARRAY[1, NULL]", N),
        ("ARRAY[id, id + 1]", N),  # not proven scalar: id + 1 could be an array
        ("ARRAY(SELECT 1)", NN),
        ("ARRAY(SELECT id FROM shapes)", N),
        ("tags || ARRAY['a']", N),
        ("$1::text[]", N),
    ],
)
def test_array_elements_are_nullable_without_proof(expr: str, expected: bool) -> None:
    assert elements(f"SELECT {expr} FROM shapes") == (expected,)


def test_array_element_proof_flows_through_subqueries() -> None:
    sql = "SELECT ids FROM (SELECT array_agg(id) AS ids FROM shapes) s"
    assert elements(sql) == (NN,)
    sql = (
        "WITH c AS (SELECT array_agg(id) AS ids FROM shapes) "
        "SELECT ids FROM c UNION SELECT tags FROM shapes"
    )
    assert elements(sql) == (N,)


# --- exact: not null wherever PostgreSQL guarantees it ---------------------------------


def test_a_cast_of_a_required_parameter_is_not_null() -> None:
    assert nulls("SELECT $1::text AS handle") == (NN,)
    assert infer("SELECT $1::text AS handle", CATALOG, frozenset({1})).column_nullable == (N,)
    sql = "INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING $3::text, $2::text"
    assert nulls(sql) == (N, NN)  # $3 goes into a nullable column: it may be None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT (SELECT count(*) FROM orders o WHERE o.user_id = u.id) FROM users u", (NN,)),
        ("SELECT (SELECT max(total) FROM orders) FROM users", (N,)),
        ("SELECT (SELECT coalesce(max(total), 0) FROM orders) FROM users", (NN,)),
        ("SELECT (SELECT count(*) FROM orders GROUP BY user_id) FROM users", (N,)),
        ("SELECT (SELECT id FROM orders LIMIT 1) FROM users", (N,)),
        ("SELECT (SELECT 1) FROM users", (NN,)),
        # An aggregate of the outer query's columns is the outer query's: the subquery is then
        # one row of orders each, and orders may have none.
        ("SELECT (SELECT count(u.id) FROM orders WHERE note = 'x') FROM users u", (N,)),
        ("SELECT (SELECT count(u.id) + count(o.id) FROM orders o) FROM users u", (NN,)),
        ("SELECT (SELECT count(total) FROM orders) FROM users", (NN,)),  # orders' column
        ("SELECT (SELECT count(name) FROM orders) FROM users", (N,)),  # users': the outer one
        ("SELECT (SELECT count(1) FROM orders) FROM users", (NN,)),
        # Names resolve as PostgreSQL resolves them: renamed columns, a join's alias hiding
        # its tables, a CTE hiding a table of its name ...
        ("SELECT (SELECT count(name) FROM users AS x(i, n)) FROM users", (N,)),
        (
            "SELECT (SELECT count(u.id) FROM (users u JOIN orders o ON true) AS j) FROM users u",
            (N,),
        ),
        ("WITH users AS (SELECT 1 AS z) SELECT (SELECT count(name) FROM users) FROM orders", (N,)),
        # ... and a CTE's or a subquery's own columns are this level's.
        ("WITH r AS (SELECT id FROM orders) SELECT (SELECT count(id) FROM r) FROM users", (NN,)),
        ("SELECT (SELECT count(n) FROM (SELECT total AS n FROM orders) s) FROM users", (NN,)),
        # A set-returning call in ORDER BY or DISTINCT ON makes rows (or none) of the one.
        ("SELECT (SELECT 1 ORDER BY generate_series(1, 0))", (N,)),
        ("SELECT (SELECT DISTINCT ON (unnest(ARRAY[1])) 1)", (N,)),
        ("SELECT (SELECT count(*) FROM orders ORDER BY generate_series(1, 0)) FROM users", (N,)),
    ],
)
def test_scalar_subqueries_certain_of_one_row(sql: str, expected: tuple[bool, ...]) -> None:
    assert nulls(sql) == expected


@pytest.mark.parametrize(
    ("sql", "certain"),
    [
        ("SELECT 1 AS one, now() AS at", True),
        ("SELECT $1::int AS n", True),
        ("SELECT x FROM (SELECT 1 AS x) s", True),
        ("SELECT x FROM (SELECT count(*) AS x FROM users) s", True),
        ("SELECT 1 WHERE $1::bool", False),
        ("SELECT generate_series(1, 3)", False),
        ("SELECT 1 LIMIT $1", False),
        ("SELECT 1 UNION ALL SELECT 2", False),
        ("SELECT x FROM (SELECT 1 AS x) s, users", False),
        ("SELECT x FROM (SELECT id AS x FROM users) s", False),
    ],
)
def test_select_without_from_is_one_row(sql: str, certain: bool) -> None:
    assert facts(sql).row_is_certain is certain


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("", (N, N, N)),
        ("WHERE u.email IS NOT NULL", (NN, N, N)),
        ("WHERE email IS NOT NULL AND o.note LIKE 'a%'", (NN, NN, NN)),
        ("WHERE o.id IS NOT NULL", (N, NN, N)),  # the LEFT JOIN is an inner one
        ("WHERE o.total > $1", (N, NN, N)),
        ("WHERE o.id = ANY($1)", (N, NN, N)),
        ("WHERE o.id IN (1, 2)", (N, NN, N)),
        ("WHERE o.id::text BETWEEN 'a' AND 'b'", (N, NN, N)),
        ("WHERE o.id = u.id", (N, NN, N)),
        ("WHERE o.id IS NOT NULL OR true", (N, N, N)),  # not a conjunct
        ("WHERE o.id = ALL('{}')", (N, N, N)),  # true for NULL over an empty array
        ("WHERE o.id IS NULL", (N, N, N)),
        ("WHERE NOT (o.id IS NULL)", (N, N, N)),  # not recognised: stays nullable
        ("WHERE coalesce(o.id, 0) = 1", (N, N, N)),
    ],
)
def test_where_proves_columns_not_null(where: str, expected: tuple[bool, ...]) -> None:
    joined = "FROM users u LEFT JOIN orders o ON o.user_id = u.id"
    sql = f"SELECT u.email, o.id, o.note {joined} {where}"
    assert nulls(sql) == expected


def test_where_narrowing_is_per_query_level() -> None:
    # An outer query's WHERE says nothing of a subquery's rows, and the other way round.
    sql = (
        "SELECT email, (SELECT o.note FROM orders o WHERE o.user_id = users.id LIMIT 1) "
        "FROM users WHERE email IS NOT NULL"
    )
    assert nulls(sql) == (NN, N)
    sql = "SELECT s.email FROM (SELECT email FROM users WHERE email IS NOT NULL) s"
    assert nulls(sql) == (NN,)
    # RETURNING sees the row after SET: a WHERE does not prove it.
    assert nulls("UPDATE users SET email = NULL WHERE email IS NOT NULL RETURNING email") == (N,)


def test_a_users_overload_of_a_listed_name_is_nullable() -> None:
    # reverse(text) is listed, but FUNCTIONS gives "reverse" an overload outside pg_catalog.
    assert nulls("SELECT reverse(name), length(name) FROM users") == (N, NN)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("my_scalar(name)", NN),  # $1 || 'x' over a not-null argument
        ("my_scalar(email)", N),
        ("twice(id)", NN),
        ("twice(NULL)", N),  # STRICT
        ("label(name, email)", NN),
        ("label(email, name)", N),
        ("first_user()", N),  # LIMIT 1 may find no row: NULL
        ("user_count()", NN),
        ("loop()", N),  # recursive: not analyzed again
        ("qualified(id)", NN),
    ],
)
def test_sql_functions_are_analyzed_through_their_body(expr: str, expected: bool) -> None:
    assert nulls(f"SELECT {expr} FROM users") == (expected,)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # An inner join keeps only rows whose ON held: both sides' tested columns.
        ("SELECT a.email, b.note FROM users a JOIN orders b ON b.note = a.email", (NN, NN)),
        # A LEFT join: only the right side, and only when its row is there.
        ("SELECT a.email, b.note FROM users a LEFT JOIN orders b ON b.note = a.email", (N, N)),
        ("SELECT a.email, b.note FROM users a LEFT JOIN orders b ON b.note = a.email "
         "WHERE b.id IS NOT NULL", (N, NN)),
        ("SELECT a.email, b.note FROM users a RIGHT JOIN orders b ON b.note = a.email", (N, N)),
        ("SELECT a.email, b.note FROM users a FULL JOIN orders b ON b.note = a.email", (N, N)),
        # An inner join on the nullable side of a LEFT join reduces it.
        ("SELECT c.id FROM users a LEFT JOIN orders c ON c.user_id = a.id "
         "JOIN users d ON d.id = c.id", (NN,)),
        ("SELECT a.email FROM users a JOIN orders b ON b.note = a.email OR true", (N,)),
    ],
)  # fmt: skip
def test_join_conditions_prove_columns(sql: str, expected: tuple[bool, ...]) -> None:
    assert nulls(sql) == expected
