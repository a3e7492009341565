"""What sqlc compiles, compiled and run: keyword names, :execresult, zero columns, types."""

from __future__ import annotations

from psycopg.types.multirange import Multirange
from psycopg.types.range import Range

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, Compiled, bound_queries, import_generated

CASE = CASES / "broad_compile"


def test_broad_case_against_postgresql(compiled: Compiled, empty_db_url: str, flavor: str) -> None:
    package = compiled(CASE)
    migrate.apply_all(empty_db_url, CASE / "migrations")
    queries = import_generated(package, "queries")
    runtime = import_generated(package, "_runtime")
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        spans = Multirange([Range(1, 3), Range(5, 7)])
        q.add_item(id=1, class_="a", period=Range(1, 4), spans=spans, bits="101", at="(1,2)")
        q.add_item(id=2, class_="b", period=Range(empty=True), spans=None, bits=None, at=None)
        # Keywords and builtins: the function in_, its parameter in_, the fields from_, class_.
        assert q.in_(in_=[2, 1, 9]) == [queries.InRow(1, None, "a"), queries.InRow(2, None, "b")]
        assert q.list_() == 2
        # :execresult: the row count and the command status.
        assert q.touch(id=1, class_="z") == runtime.ExecResult(1, "UPDATE 1")
        assert q.touch(id=99, class_="z") == runtime.ExecResult(0, "UPDATE 0")
        # Zero columns: one empty row per matching row.
        assert q.present(id=1) == [queries.PresentRow()]
        assert q.present(id=99) == []
        assert q.shapes() == [
            queries.ShapesRow(Range(1, 4), spans, "101", "(1,2)"),
            queries.ShapesRow(Range(empty=True), None, None, None),
        ]


def test_system_geometric_and_extension_types_are_their_text_form(
    compiled: Compiled, empty_db_url: str, flavor: str
) -> None:
    case = CASES / "broad_types"
    package = compiled(case)
    migrate.apply_all(empty_db_url, case / "migrations")
    models = import_generated(package, "models")
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        shape = {
            "flags": "10110",
            "ref": 1259,
            "seg": "[(0,0),(1,1)]",
            "ln": "{1,-1,0}",
            "bx": "(1,1),(0,0)",
            "pth": "((0,0),(1,0),(1,1))",
            "poly": "((0,0),(1,0),(1,1))",
            "circ": "<(0,0),2>",
            "label": "Ada",
            "attrs": '"a"=>"1", "b"=>NULL',
            "tree": "top.science.physics",
        }
        q.add_shape(id=1, **shape)
        q.add_shape(id=2, **{**shape, "label": "bob", "attrs": None, "tree": "top.arts"})
        # Each comes back as PostgreSQL writes its text form.
        assert q.get_shape(id=1) == models.Shape(id=1, **shape)
        rows = q.system_columns()
        assert [r.id for r in rows] == [1, 2]
        assert rows[0].ctid == "(0,1)" and rows[0].xmin.isdigit() and rows[0].cmin == "0"
        assert rows[0].xact is not None and rows[0].xact.isdigit()
        # citext compares without case; ltree's <@ finds a subtree.
        assert q.by_label(label="ADA") == [1]
        assert [r.tree for r in q.subtree(root="top.science")] == ["top.science.physics"]
