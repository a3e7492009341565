"""Text the generator embeds in Python source (SQL, enum labels, names, docstrings)
reads back unchanged."""

import ast

from hypothesis import example, given
from hypothesis import strategies as st

from connlog.codegen.python.literals import docstring, pep257, sql_literal, string


@given(st.text())
def test_any_string_becomes_a_literal_of_itself(text: str) -> None:
    assert ast.literal_eval(string(text)) == text


@given(st.text())
def test_any_sql_becomes_a_literal_of_itself(sql: str) -> None:
    assert ast.literal_eval(sql_literal(sql)) == sql


def test_single_line_sql_with_double_quotes() -> None:
    sql = """SELECT pg_try_advisory_lock(1) AS "locked!\""""
    assert ast.literal_eval(sql_literal(sql)) == sql


def _function_docstring(body: str) -> str | None:
    """The docstring of a function whose docstring is written ``\"\"\"body\"\"\"``, compiled."""
    source = f'def f() -> None:\n    """{body}"""\n'
    compile(source, "<generated>", "exec")
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    return ast.get_docstring(function, clean=False)


@given(st.text())
@example('Returns the "name"')
@example('""')
@example('"""')
@example('""""')
@example("a\\")
@example('\\"')
@example("\r\n\x00\x0b\u2028")
def test_any_text_becomes_a_docstring_of_itself(text: str) -> None:
    assert _function_docstring(docstring(text)) == text


def test_plain_docstrings_stay_readable() -> None:
    text = 'Returns the "name" of\n\tthe user (it\'s unique).'
    assert docstring(text) == text
    assert docstring('Returns the "name"') == 'Returns the "name\\"'


def test_query_docs_are_laid_out_as_pep_257_asks() -> None:
    assert pep257("Lists the users.") == "Lists the users."
    assert pep257("Lists the users,\nnewest first.\nDeleted ones too.") == (
        "Lists the users, newest first.\n\nDeleted ones too.\n"
    )
    assert pep257("No full stop\nanywhere") == "No full stop\n\nanywhere\n"
    # The summary is the first sentence even when the next one starts on its line.
    assert pep257("How many match. With cap, counting\nstops early.\nSee x.") == (
        "How many match.\n\nWith cap, counting\nstops early.\nSee x.\n"
    )
    assert pep257("Sends INSERT ... ON CONFLICT rows, e.g. two.") == (
        "Sends INSERT ... ON CONFLICT rows, e.g. two."
    )
