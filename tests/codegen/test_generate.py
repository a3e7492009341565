"""Generated functions against a real PostgreSQL: every mapped type round-trips.

The ``all_types`` case is compiled into a fresh package, its migrations are
applied to an empty database, and values go in through the generated
parameters and come back through the generated rows.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

from connlog.codegen.analysis import cache
from connlog.codegen.database import migrate
from tests.codegen.conftest import (
    CASES,
    Compiled,
    bound_queries,
    generate_case,
    import_generated,
    run_codegen,
    snapshot,
)
from tests.conftest import REPO_ROOT

ALL_TYPES = CASES / "all_types"


def test_every_mapped_type_round_trips(compiled: Compiled, empty_db_url: str, flavor: str) -> None:
    package = compiled(ALL_TYPES)
    migrate.apply_all(empty_db_url, ALL_TYPES / "migrations")
    models = import_generated(package, "models")
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "i2": 32767,
        "i4": -2147483648,
        "i8": 2**62,
        "num": Decimal("12345.678901234567890"),
        "f4": 1.5,
        "f8": 2.25,
        "t": "tëxt",
        "vc": "varchar",
        "ch": "abc",
        "nm": "a_name",
        "b": True,
        "tstz": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        "ts": datetime(2024, 5, 6, 7, 8, 9),
        "d": date(2024, 2, 29),
        "tm": time(23, 59, 58),
        "iv": timedelta(days=3, seconds=7),
        "by": b"\x00\xffbytes",
        "js": {"a": [1, "two", None, True]},
        "jsb": {"k": {"nested": 1.5}},
        "ip": ip_address("2001:db8::1"),
        "net": ip_network("10.0.0.0/8"),
        "pos": 7,
        "mood": models.Mood.SO_SO,
        "moods": [models.Mood.SAD, models.Mood.SO_SO],
        "ints": [1, 2, 3],
        "texts": ["a", "b c", 'quote"d', "comma,"],
        "maybe": None,
    }
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        inserted = q.insert_everything(**values)
        assert isinstance(inserted, models.Everything)
        fetched = q.get_everything(id=values["id"])
        assert fetched == inserted
        for name, value in values.items():
            assert getattr(fetched, name) == value, name
        # Enums come back as members, arrays of enums as lists of members.
        assert type(fetched.mood) is models.Mood
        assert all(type(m) is models.Mood for m in fetched.moods)
        assert fetched.tstz.tzinfo is not None

        listed = q.list_moods(moods=[models.Mood.SO_SO])
        assert [(r.id, r.mood, r.moods, r.k) for r in listed] == [
            (values["id"], models.Mood.SO_SO, values["moods"], {"nested": 1.5})
        ]
        assert q.count_by_mood(mood=models.Mood.HAPPY) == 0
        assert q.set_maybe(ids=[values["id"]], maybe="now") == 1
        assert q.set_maybe(ids=[values["id"]]) == 1  # narg defaults to NULL
        assert q.get_everything(id=values["id"]).maybe is None
        assert q.get_everything(id=uuid.uuid4()) is None
        assert q.delete_everything() is None
        assert q.list_moods(moods=[models.Mood.HAPPY, models.Mood.SAD]) == []


def test_left_join_rows_are_nullable_and_models_are_reused(
    compiled: Compiled, empty_db_url: str, flavor: str
) -> None:
    case = CASES / "join_left_nullable"
    package = compiled(case)
    migrate.apply_all(empty_db_url, case / "migrations")
    models = import_generated(package, "models")
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        ann = q.create_author(name="Ann", bio=None)
        bob = q.create_author(name="Bob", bio="writes")
        assert isinstance(ann, models.Author)
        q.add_book(author_id=bob.id, title="B", genre=models.Genre.NON_FICTION)
        rows = q.authors_with_books()
        assert [(r.name, r.title, r.genre) for r in rows] == [
            ("Ann", None, None),
            ("Bob", "B", models.Genre.NON_FICTION),
        ]
        assert q.get_author(id=ann.id) == ann


def test_check_fails_after_a_sql_edit(tmp_path: Path, server_url: str) -> None:
    case = tmp_path / "case"
    shutil.copytree(CASES / "join_left_nullable", case)
    shutil.rmtree(case / "expected")
    out = tmp_path / "out"
    options = [
        "--migrations", str(case / "migrations"), "--queries", str(case),
        "--out", str(out), "--database", server_url,
    ]  # fmt: skip
    generated = run_codegen("generate", *options)
    assert generated.code == 0, generated.stderr
    assert "queries compiled" in generated.stdout
    assert run_codegen("check", *options).code == 0

    sql = case / "queries.sql"
    sql.write_text(sql.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.name"))
    stale = run_codegen("check", *options)
    assert stale.code == 1
    assert "-ORDER BY a.id, b.id" in stale.stdout
    assert "+ORDER BY a.name" in stale.stdout
    assert "stale" in stale.stderr

    # A removed query file's module is stale too, and generate removes it.
    sql.rename(case / "renamed.sql")
    assert "/dev/null" in run_codegen("check", *options).stdout
    assert run_codegen("generate", *options).code == 0
    assert not (out / "queries.py").exists()
    assert (out / "renamed.py").exists()
    assert run_codegen("check", *options).code == 0


@pytest.mark.parametrize("case", ["unknown_column", "unmapped_type"])
def test_failed_run_leaves_previous_output_untouched(tmp_path: Path, case: str) -> None:
    out = tmp_path / "out"
    good = generate_case(CASES / "join_left_nullable", out)
    assert good.code == 0
    before = snapshot(out)
    bad = generate_case(CASES / case, out)
    assert bad.code == 1
    assert "nothing written" in bad.stderr
    assert snapshot(out) == before


def test_repository_generates_with_its_own_settings(tmp_path: Path, server_url: str) -> None:
    """`generate` on this repository, into a scratch out dir, gives the committed generated/."""
    committed_dir = REPO_ROOT / "generated"
    out = tmp_path / "out"
    out.mkdir()
    # The package's own __init__.py: codegen writes one only when it is missing.
    shutil.copy(committed_dir / "__init__.py", out / "__init__.py")
    result = run_codegen("generate", "--out", str(out), "--database", server_url)
    assert result.code == 0, result.stderr
    committed = {
        name: data
        for name, data in snapshot(committed_dir).items()
        if "__pycache__" not in Path(name).parts  # left by tests importing generated/
    }
    fresh = snapshot(out)
    assert "models.py" in fresh and "schema.sql" in fresh
    assert sorted(fresh) == sorted(committed), "the generated files differ from generated/"
    assert "/tmp" not in fresh[cache.MANIFEST_FILE].decode(), "the manifest holds no local paths"
    for name, data in fresh.items():
        # A differing manifest with unchanged queries means analyze changed under the same
        # cache keys: the next run would trust stale entries.
        assert data == committed[name], f"generated/{name} differs: run `./dev generate`"
