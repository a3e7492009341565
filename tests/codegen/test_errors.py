"""Bad input: one clear message at the right file:line:column, exit 1, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.codegen.conftest import CASES, generate_case


@pytest.mark.parametrize(
    ("case", "where", "message"),
    [
        ("syntax_error", "queries.sql:2:22", 'syntax error at or near "notes"'),
        ("unknown_column", "queries.sql:7:8", 'column "title" does not exist'),
        ("unknown_table", "queries.sql:2:16", 'relation "pages" does not exist'),
        ("unmapped_type", "queries.sql:1:1", "'pg_catalog.tsvector', which has no Python mapping"),
        ("untyped_parameter", "queries.sql:3:7", "could not determine data type of parameter $1"),
    ],
)
def test_error_is_located_and_nothing_is_written(
    tmp_path: Path, case: str, where: str, message: str
) -> None:
    out = tmp_path / "out"
    result = generate_case(CASES / case, out)
    assert result.code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"tests/cases/{case}/{where}: error: "), first
    assert message in first
    assert not out.exists()
