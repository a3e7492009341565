"""``sqlc.embed(t)``: a table's columns become one field holding its model.

The ``embed`` case is compiled into a fresh package and run against PostgreSQL:
an inner join always yields the models, the nullable side of an outer join
yields None exactly when the joined row is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, Compiled, bound_queries, generate_case, import_generated

EMBED = CASES / "embed"


def test_embedded_models_round_trip(compiled: Compiled, empty_db_url: str, flavor: str) -> None:
    package = compiled(EMBED)
    migrate.apply_all(empty_db_url, EMBED / "migrations")
    models = import_generated(package, "models")
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        ann = q.create_author(name="Ann", bio=None)
        bob = q.create_author(name="Bob", bio="editor")
        lonely = q.create_author(name="Lonely", bio=None)
        book = q.add_book(
            author_id=ann.id,
            title="Tales",
            genre=models.Genre.FICTION,
            tags=[models.Genre.FICTION, models.Genre.NON_FICTION],
            editor_id=None,
        )
        edited = q.add_book(
            author_id=ann.id,
            title="Facts",
            genre=models.Genre.NON_FICTION,
            tags=[],
            editor_id=bob.id,
        )

        got = q.get_book_with_author(id=book.id)
        assert got is not None
        assert got.book == book and got.author == ann and got.label == "Ann: Tales"
        assert type(got.book) is models.Book and type(got.author) is models.Author
        assert all(type(tag) is models.Genre for tag in got.book.tags)
        assert q.get_book_with_author(id=-1) is None

        rows = q.authors_and_books()
        assert [(r.id, r.book) for r in rows] == [
            (ann.id, book),
            (ann.id, edited),
            (bob.id, None),
            (lonely.id, None),
        ]

        # a.* comes first and is authors' columns too: the embed is the next author's row.
        following = q.authors_with_the_next()
        assert [(r.id, r.author) for r in following] == [
            (ann.id, bob),
            (bob.id, lonely),
            (lonely.id, None),
        ]

        pairs = q.books_with_editors()
        assert [(r.title, r.writer, r.editor) for r in pairs] == [
            ("Tales", ann, None),
            ("Facts", ann, bob),
        ]
        assert [r.author for r in q.only_embed()] == [ann, bob, lonely]


def test_tables_outside_public_embed_and_expand(
    compiled: Compiled, empty_db_url: str, flavor: str
) -> None:
    case = CASES / "embed_schema"
    package = compiled(case)
    migrate.apply_all(empty_db_url, case / "migrations")
    models = import_generated(package, "models")
    queries = import_generated(package, "queries")
    invoice, customer = models.BillingInvoice, models.Customer
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob')")
        conn.execute("INSERT INTO invoices VALUES (7, 'public')")
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        first = q.insert_invoice(id=10, customer_id=1, amount=5)
        assert first == invoice(10, 1, 5, None)
        assert q.get_invoice(id=10) == queries.GetInvoiceRow(first, "Ann")
        # The alias of billing.invoices on the nullable side: None for Bob, who has none.
        assert q.customer_invoices() == [
            queries.CustomerInvoicesRow(customer(1, "Ann"), first),
            queries.CustomerInvoicesRow(customer(2, "Bob"), None),
        ]
        assert q.list_invoices() == [first]
        assert q.both_invoices() == [queries.BothInvoicesRow(10, 1, 5, None, 7, "public")]


def test_an_embed_whose_columns_cannot_be_told_apart_is_refused(tmp_path: Path) -> None:
    """After a ``*``, authors' columns appear three times: no guess at which run is the embed."""
    case = tmp_path / "case"
    shutil.copytree(EMBED / "migrations", case / "migrations")
    (case / "queries.sql").write_text(
        "-- name: Guess :many\n"
        "SELECT *, sqlc.embed(next) FROM authors a LEFT JOIN authors next ON next.id = a.id + 1;\n"
    )
    result = generate_case(case, tmp_path / "out")
    assert result.code == 1
    assert "queries.sql:1:1: error: in query Guess" in result.stderr
    assert "cannot tell which columns sqlc.embed(next) is" in result.stderr
    assert not (tmp_path / "out").exists()
