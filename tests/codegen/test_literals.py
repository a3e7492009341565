"""Text the generator embeds in Python source (SQL, enum labels, names) reads back unchanged."""

import ast

from hypothesis import given
from hypothesis import strategies as st

from codegen.plan import _sql_literal, _string


@given(st.text())
def test_any_string_becomes_a_literal_of_itself(text: str) -> None:
    assert ast.literal_eval(_string(text)) == text


@given(st.text())
def test_any_sql_becomes_a_literal_of_itself(sql: str) -> None:
    assert ast.literal_eval(_sql_literal(sql)) == sql


def test_single_line_sql_with_double_quotes() -> None:
    sql = """SELECT pg_try_advisory_lock(1) AS "locked!\""""
    assert ast.literal_eval(_sql_literal(sql)) == sql
