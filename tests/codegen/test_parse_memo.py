"""A query file whose text did not change is not parsed again; one that did always is."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from connlog.codegen import fingerprint, memo
from connlog.codegen.model import SourceFile
from connlog.codegen.parsing import parse
from connlog.codegen.parsing.parse_memo import parse_files

BOOKS = SourceFile(
    "queries/books.sql",
    "-- name: GetBook :one\nSELECT id, title FROM books WHERE id = @id;\n",
)
AUTHORS = SourceFile(
    "queries/authors.sql",
    "-- name: ListAuthors :many\nSELECT name FROM authors ORDER BY name LIMIT @n;\n",
)

GENERATOR = fingerprint.generator_identity()


def _poison(out: Path) -> None:
    """Replace every remembered file's queries with a renamed copy, to see which are reused."""
    entries = memo.load("parsed", out, 1)
    assert entries, "nothing was remembered"
    memo.save(
        "parsed",
        out,
        1,
        {
            key: tuple(dataclasses.replace(q, name=q.name + "Remembered") for q in queries)
            for key, queries in entries.items()
            if isinstance(queries, tuple)
        },
    )


def test_the_memo_answers_exactly_what_parsing_does(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    expected = [*parse.parse_queries(BOOKS)[0], *parse.parse_queries(AUTHORS)[0]]
    assert parse_files([BOOKS, AUTHORS], out, GENERATOR) == (expected, [])
    assert parse_files([BOOKS, AUTHORS], out, GENERATOR) == (expected, [])


def test_an_unchanged_file_is_reused_and_an_edited_one_parsed_again(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    parse_files([BOOKS, AUTHORS], out, GENERATOR)
    _poison(out)
    edited = dataclasses.replace(AUTHORS, text=AUTHORS.text.replace("LIMIT @n", "LIMIT @cap"))
    queries, errors = parse_files([BOOKS, edited], out, GENERATOR)
    assert errors == []
    assert [q.name for q in queries] == ["GetBookRemembered", "ListAuthors"]
    assert [p.name for p in queries[1].params] == ["cap"]
    # The same text shown under another path (its locations differ) is parsed again too.
    moved = dataclasses.replace(BOOKS, path="queries/moved.sql")
    _poison(out)
    queries, _ = parse_files([moved], out, GENERATOR)
    assert [q.name for q in queries] == ["GetBook"]
    assert queries[0].location.path == "queries/moved.sql"
    # Another generator (its source, or the Python or pglast running it) parses again.
    parse_files([BOOKS], out, GENERATOR)
    _poison(out)
    queries, _ = parse_files([BOOKS], out, GENERATOR + "-edited")
    assert [q.name for q in queries] == ["GetBook"]


def test_a_file_with_problems_reports_them_on_every_run(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    # One broken query, one good: the good one goes on to be described (every error at once).
    broken = SourceFile(
        "queries/broken.sql",
        "-- name: Broken :one\nSELECT FROM WHERE;\n\n" + AUTHORS.text,
    )
    first = parse_files([broken, BOOKS], out, GENERATOR)
    second = parse_files([broken, BOOKS], out, GENERATOR)
    assert first[1] and [str(e) for e in first[1]] == [str(e) for e in second[1]]
    assert "queries/broken.sql:" in str(first[1][0])
    assert [q.name for q in first[0]] == [q.name for q in second[0]] == ["ListAuthors", "GetBook"]


def test_a_broken_memo_is_only_a_miss(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    parse_files([BOOKS], out, GENERATOR)
    memo.path("parsed", out).write_bytes(b"not a pickle")
    assert parse_files([BOOKS], out, GENERATOR) == (list(parse.parse_queries(BOOKS)[0]), [])
