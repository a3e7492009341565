"""Stage unit tests, no database: stars become named columns; the parameters' call-time rules."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from connlog.codegen.analysis.expand import StarError, expand_stars
from connlog.codegen.analysis.param_rules import ParamRules, param_rules

TABLES: dict[str, tuple[str, ...]] = {
    "t": ("id", "name"),
    "u": ("id", "t_id", "Nick"),
    "user": ("id", "order"),
}


def columns_of(schema: str | None, table: str) -> Sequence[str] | None:
    if schema == "billing" and table == "t":
        return ("id", "amount")  # billing.t: a table of the same name in another schema
    return TABLES.get(table) if schema in (None, "public") else None


@pytest.mark.parametrize(
    ("written", "expanded"),
    [
        ("SELECT * FROM t", "SELECT t.id, t.name FROM t"),
        ("SELECT x.* FROM t AS x", "SELECT x.id, x.name FROM t AS x"),
        # After the dot any keyword is a column name; before it a reserved one is quoted.
        ('SELECT * FROM "user"', 'SELECT "user".id, "user".order FROM "user"'),
        ("SELECT public.t.* FROM public.t", "SELECT public.t.id, public.t.name FROM public.t"),
        (
            "SELECT billing.t.* FROM billing.t",
            "SELECT billing.t.id, billing.t.amount FROM billing.t",
        ),
        # Two tables of one name: the schema of the qualifier tells which one.
        (
            "SELECT billing.t.*, public.t.* FROM billing.t, public.t",
            "SELECT billing.t.id, billing.t.amount, public.t.id, public.t.name "
            "FROM billing.t, public.t",
        ),
        ("SELECT u.* FROM u", 'SELECT u.id, u.t_id, u."Nick" FROM u'),
        # Not a star: in a string, a comment, count(*).
        ("SELECT '*', count(*) FROM t -- *", "SELECT '*', count(*) FROM t -- *"),
        ("SELECT '*', * FROM t", "SELECT '*', t.id, t.name FROM t"),
        # Offsets are characters, in pglast's tree and its scanner alike.
        ("SELECT 'ünï', * FROM t", "SELECT 'ünï', t.id, t.name FROM t"),
        # Over a CTE (even one named like a table), a subquery or a function: left as written.
        ("WITH t AS (SELECT 1 AS x) SELECT * FROM t", "WITH t AS (SELECT 1 AS x) SELECT * FROM t"),
        (
            "SELECT s.* FROM (SELECT * FROM t) AS s",
            "SELECT s.* FROM (SELECT t.id, t.name FROM t) AS s",
        ),
        (
            "SELECT * FROM t, unnest(ARRAY[1])",
            "SELECT t.id, t.name, unnest.* FROM t, unnest(ARRAY[1])",
        ),
        (
            "SELECT * FROM t UNION ALL SELECT * FROM t",
            "SELECT t.id, t.name FROM t UNION ALL SELECT t.id, t.name FROM t",
        ),
        ("SELECT EXISTS (SELECT * FROM t) AS e", "SELECT EXISTS (SELECT t.id, t.name FROM t) AS e"),
        (
            "INSERT INTO t AS x (id) VALUES (1) RETURNING *",
            "INSERT INTO t AS x (id) VALUES (1) RETURNING x.id, x.name",
        ),
        (
            "DELETE FROM t USING u WHERE u.t_id = t.id RETURNING t.*",
            "DELETE FROM t USING u WHERE u.t_id = t.id RETURNING t.id, t.name",
        ),
        ("UPDATE t SET name = 'a' RETURNING *", "UPDATE t SET name = 'a' RETURNING t.id, t.name"),
        # A name the FROM clause does not have (an outer query's): the server's business.
        ("SELECT missing.* FROM t", "SELECT missing.* FROM t"),
        ("SELECT 1", "SELECT 1"),
        (
            "SELECT * FROM t TABLESAMPLE SYSTEM (10)",
            "SELECT t.id, t.name FROM t TABLESAMPLE SYSTEM (10)",
        ),
    ],
)
def test_table_stars_become_named_columns(written: str, expanded: str) -> None:
    assert expand_stars(written, columns_of) == expanded


def test_a_star_alone_on_its_line_gets_a_line_per_column() -> None:
    written = "SELECT\n    t.*,\n    1 AS one\nFROM t"
    assert (
        expand_stars(written, columns_of) == "SELECT\n    t.id,\n    t.name,\n    1 AS one\nFROM t"
    )


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("SELECT * FROM t JOIN u USING (id)", "USING or NATURAL join"),
        ("SELECT * FROM t NATURAL JOIN u", "USING or NATURAL join"),
        ("SELECT x.* FROM t AS x (a, b)", "renames the table's columns"),
        ("SELECT j.* FROM (t JOIN u ON true) AS j", "aliased join"),
        (
            "SELECT * FROM t, XMLTABLE('/r' PASSING CAST('<r/>' AS xml) COLUMNS a int) AS x",
            "FROM item the generator does not expand",
        ),
    ],
)
def test_a_star_that_cannot_be_expanded_faithfully_is_refused(written: str, problem: str) -> None:
    with pytest.raises(StarError, match=problem) as caught:
        expand_stars(written, columns_of)
    assert written[caught.value.offset] in "*xj"


STATUS = """
SELECT 1 FROM t
WHERE CASE WHEN $1::text IS NULL THEN true
        ELSE CASE $1 WHEN 'ongoing' THEN true WHEN 'completed' THEN false ELSE false END END
  AND CASE WHEN $2::timestamptz IS NULL THEN true ELSE (t.at, t.id) < ($2, $3::uuid) END
  AND t.at <= COALESCE($2, 'infinity')
LIMIT COALESCE($4::int, 100) OFFSET $5 + 1
"""


@pytest.mark.parametrize(
    ("statement", "rules"),
    [
        (STATUS, ParamRules(frozenset({4, 5}), {1: ("ongoing", "completed")}, {3: 2})),
        ("SELECT 1 WHERE $1 = 'a' OR $1 IN ('b', 'a')", ParamRules(labels={1: ("a", "b")})),
        # Used for anything but a label comparison: no labels.
        ("SELECT 1 WHERE $1 = 'a' OR lower($1) = 'b'", ParamRules()),
        ("SELECT 1 FROM t WHERE $1 = t.name", ParamRules()),
        # Read outside the guard too: not dependent on it; a guard by itself is no guard.
        ("SELECT CASE WHEN $1 IS NULL THEN 0 ELSE $2 END, $2", ParamRules()),
        ("SELECT CASE WHEN $1::int IS NULL THEN 0 ELSE $1 END", ParamRules()),
        ("SELECT CASE WHEN $1::int IS NOT NULL THEN $2 END", ParamRules(requires={2: 1})),
        # A filter of a subquery inside a LIMIT counts no rows itself.
        ("SELECT 1 FROM t LIMIT (SELECT count(*) FROM t WHERE t.id > $1)", ParamRules()),
        ("SELECT 1 FROM (SELECT 1 FROM t LIMIT $1) AS s", ParamRules(frozenset({1}))),
        # The arguments of a function in FROM are read as well (pglast nests them in two lists).
        (
            "SELECT 1 FROM f($1::text = 'on', $1::text = 'off') LIMIT $2",
            ParamRules(frozenset({2}), {1: ("on", "off")}),
        ),
        ("SELECT 1 FROM f(lower($1)) WHERE $1 = 'a'", ParamRules()),
    ],
)
def test_parameter_rules_read_from_the_statement(statement: str, rules: ParamRules) -> None:
    assert param_rules(statement) == rules
