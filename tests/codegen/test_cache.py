"""The offline metadata cache (``<out>/analysis.json``): what is described again, and when not.

A closed port as ``--database`` proves a run used no server: any connection
attempt fails, and the run would exit 1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from connlog.codegen.analysis import cache
from connlog.codegen.database import scratch
from connlog.codegen.model import Analysis, Location, SourceFile
from connlog.codegen.parsing.parse import parse_file
from tests.codegen.conftest import CASES, Run, analyzed, generator_copy, run_codegen, snapshot
from tests.conftest import REPO_ROOT, start_server

NO_SERVER = "postgresql://postgres@127.0.0.1:1/nothing"


def _case(tmp_path: Path, name: str = "join_left_nullable") -> Path:
    case = tmp_path / "case"
    shutil.copytree(CASES / name, case, ignore=shutil.ignore_patterns("expected", "stderr.txt"))
    return case


def _run(command: str, case: Path, out: Path, database: str | None = None) -> Run:
    """``command`` on ``case``, against ``database`` (default: the test server)."""
    return run_codegen(
        command,
        "--migrations", str(case / "migrations"), "--queries", str(case),
        "--out", str(out), "--database", database or start_server(),
    )  # fmt: skip


def _counts(run: Run) -> str:
    assert run.code == 0, run.stderr
    return run.stdout.split("(", 1)[1].split(")", 1)[0]


def test_second_run_needs_no_database_and_renders_the_same(tmp_path: Path) -> None:
    case, out = _case(tmp_path, "all_types"), tmp_path / "out"
    assert _counts(_run("generate", case, out)) == "6 described, 0 cached"
    first = snapshot(out)
    # A generated module deleted by hand comes back, still without a server.
    (out / "queries.py").unlink()
    again = _run("generate", case, out, NO_SERVER)
    assert _counts(again) == "0 described, 6 cached"
    assert snapshot(out) == first
    assert _run("check", case, out, NO_SERVER).code == 0


def test_editing_one_query_describes_only_that_one(tmp_path: Path) -> None:
    case, out = _case(tmp_path), tmp_path / "out"
    assert _counts(_run("generate", case, out)) == "5 described, 0 cached"
    sql = case / "queries.sql"
    # AuthorsWithBooks grows a line: the queries after it move, but only it changed.
    sql.write_text(sql.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.name,\n  b.id"))
    assert _counts(_run("generate", case, out)) == "1 described, 4 cached"
    # A comment (the docstring) reaches no server.
    sql.write_text(
        sql.read_text().replace("-- name: GetAuthor :one", "-- name: GetAuthor :one\n-- hi")
    )
    assert _counts(_run("generate", case, out, NO_SERVER)) == "0 described, 5 cached"

    # What the cache gave is exactly what describing everything gives.
    fresh = tmp_path / "fresh"
    assert _counts(_run("generate", case, fresh)) == "5 described, 0 cached"
    assert snapshot(out) == snapshot(fresh)


def test_a_migration_change_invalidates_every_query(tmp_path: Path) -> None:
    case, out = _case(tmp_path), tmp_path / "out"
    assert _run("generate", case, out).code == 0
    (case / "migrations" / "0002_more.sql").write_text("CREATE TABLE more (id int);\n")
    (case / "migrations" / "0002_more.rollback.sql").write_text("DROP TABLE more;\n")
    offline = _run("generate", case, out, NO_SERVER)
    assert offline.code == 1
    assert "connection" in offline.stderr and "refused" in offline.stderr
    stale = _run("check", case, out, NO_SERVER)
    assert stale.code == 1
    assert "the migrations changed: every query must be described again" in stale.stderr
    assert _counts(_run("generate", case, out)) == "5 described, 0 cached"
    assert "more" in (out / "schema.sql").read_text()


def test_a_dropped_describe_database_is_built_again(tmp_path: Path) -> None:
    """A run tries the kept database without asking; gone (``./dev db clean``), it is rebuilt."""
    case, out = _case(tmp_path), tmp_path / "out"
    assert _run("generate", case, out).code == 0
    kept = scratch.kept_describe_url(start_server(), case / "migrations").rsplit("/", 1)[1]
    with psycopg.connect(start_server(), autocommit=True) as conn:
        # IF EXISTS: named by the migrations' contents, it may be another test's too, whose
        # clean-up drops it once the folder that built it is gone (as it may: it is unused).
        scratch.drop_database(conn, kept)
    sql_file = case / "queries.sql"
    sql_file.write_text(sql_file.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.name"))
    assert _counts(_run("generate", case, out)) == "1 described, 4 cached"
    with psycopg.connect(start_server(), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [kept]).fetchall()
    assert found == [(1,)]


def test_check_names_the_stale_query_without_a_database(tmp_path: Path) -> None:
    case, out = _case(tmp_path), tmp_path / "out"
    assert _run("generate", case, out).code == 0
    sql = case / "queries.sql"
    sql.write_text(sql.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.name"))

    offline = _run("check", case, out, NO_SERVER)
    assert offline.code == 1
    lines = offline.stderr.splitlines()
    assert lines[0].startswith(f"{sql}:")
    assert "query AuthorsWithBooks is stale" in lines[0]
    assert "no database to describe them, so no diff" in offline.stderr
    assert offline.stdout == ""

    # With a server, the diff too.
    online = _run("check", case, out)
    assert online.code == 1
    assert "query AuthorsWithBooks is stale" in online.stderr
    assert "+ORDER BY a.name" in online.stdout


def test_hand_edited_schema_sql_is_stale(tmp_path: Path) -> None:
    case, out = _case(tmp_path), tmp_path / "out"
    assert _run("generate", case, out).code == 0
    schema = out / "schema.sql"
    schema.write_text(schema.read_text() + "-- edited\n")
    stale = _run("check", case, out, NO_SERVER)
    assert stale.code == 1
    assert "schema.sql: missing, or edited since it was generated" in stale.stderr
    assert _counts(_run("generate", case, out)) == "0 described, 5 cached"
    assert "-- edited" not in schema.read_text()


def _generator_copy(tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    """A copy of the generator package, and the environment that imports it instead."""
    copy = tmp_path / name
    generator = generator_copy(copy)
    # Stamps of its own: the fingerprint (which covers the whole generator) must not answer.
    environment = {**os.environ, "PYTHONPATH": str(copy), "XDG_CACHE_HOME": str(copy / "cache")}
    return generator, environment


def _run_with(environment: dict[str, str], case: Path, out: Path, database: str) -> str:
    """``generate`` by the generator ``environment`` imports: its counts."""
    result = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "generate",
         "--migrations", str(case / "migrations"), "--queries", str(case),
         "--out", str(out), "--database", database],
        env=environment, cwd=out.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split("(", 1)[1].split(")", 1)[0]


def test_an_edit_of_the_analysis_code_invalidates_every_query(tmp_path: Path) -> None:
    """No version to bump: the manifest records a digest of the code that analyses."""
    case, out = _case(tmp_path), tmp_path / "out"
    assert _counts(_run("generate", case, out)) == "5 described, 0 cached"
    backend, backend_env = _generator_copy(tmp_path, "backend-edited")
    plan = backend / "python" / "plan" / "functions.py"
    plan.write_text(plan.read_text() + "\n# a comment: the Python backend, not the analysis\n")
    assert _run_with(backend_env, case, out, NO_SERVER) == "0 described, 5 cached"

    analysis, analysis_env = _generator_copy(tmp_path, "analysis-edited")
    nullability = analysis / "analysis" / "nullability.py"
    nullability.write_text(nullability.read_text() + "\n# a comment, but analysis code\n")
    stale = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "check",
         "--migrations", str(case / "migrations"), "--queries", str(case),
         "--out", str(out), "--database", NO_SERVER],
        env=analysis_env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert stale.returncode == 1
    assert "written by another version of the analysis code" in stale.stderr
    assert _run_with(analysis_env, case, out, start_server()) == "5 described, 0 cached"


def test_the_analysis_digest_covers_every_module_analyze_imports() -> None:
    probe = (
        "import sys\n"
        "import connlog.codegen.analysis.analyze\n"
        "print('\\n'.join(sorted(m.__file__ for name, m in sys.modules.items()"
        " if name.startswith('connlog.codegen.') and m.__file__)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    package = REPO_ROOT / "codegen"
    covered = [package / part for part in cache.ANALYSIS_CODE]
    imported = [Path(line).resolve() for line in result.stdout.split()]
    assert package / "analysis" / "nullability.py" in imported
    uncovered = [
        path.relative_to(package).as_posix()
        for path in imported
        if not any(path == part or part in path.parents for part in covered)
    ]
    assert uncovered == [], f"add them to cache.ANALYSIS_CODE: {uncovered}"


def test_an_unreadable_manifest_is_ignored(tmp_path: Path) -> None:
    case, out = _case(tmp_path), tmp_path / "out"
    assert _run("generate", case, out).code == 0
    manifest = out / cache.MANIFEST_FILE
    document = json.loads(manifest.read_text())
    document["queries"][0]["surprise"] = 1
    manifest.write_text(json.dumps(document))
    stale = _run("check", case, out, NO_SERVER)
    assert "analysis.json is unreadable (AnalyzedQuery: missing [], unexpected ['surprise'])" in (
        stale.stderr
    )
    assert _counts(_run("generate", case, out)) == "5 described, 0 cached"


def test_manifest_round_trips_and_is_deterministic(tmp_path: Path) -> None:
    case = _case(tmp_path, "all_types")
    first, second = tmp_path / "first", tmp_path / "second"
    assert _run("generate", case, first).code == 0
    assert _run("generate", case, second).code == 0
    text = (first / cache.MANIFEST_FILE).read_text()
    # Enum OIDs differ between the two scratch databases: they are not recorded.
    assert text == (second / cache.MANIFEST_FILE).read_text()
    manifest = cache.loads(text)
    assert cache.dumps(manifest) == text
    assert json.loads(text)["types"]["public.mood"]["enum_labels"] == ["happy", "sad", "so-so"]


def test_places_are_not_stored_but_taken_from_the_parsed_query() -> None:
    """Moving a query in its file changes neither its key nor the manifest's text."""
    (query,) = parse_file(SourceFile("queries/q.sql", "-- name: Q :exec\nSELECT @userId"))
    key = cache.query_key(query, "m")
    text = cache.dumps(cache.Manifest("m", "s", Analysis((analyzed(query),), (), ()), (key,)))
    (stored,) = json.loads(text)["queries"]
    assert "location" not in stored
    assert [param["name"] for param in stored["params"]] == ["userId"]
    assert "location" not in stored["params"][0]
    moved = parse_file(SourceFile("queries/q.sql", "\n\n-- name: Q :exec\nSELECT @userId"))
    split = cache.split(moved, cache.loads(text), "m")
    assert split.to_describe == ()
    (cached,) = cache.merge(split, None).queries
    assert cached.location == Location("queries/q.sql", 3, 1)
    assert cached.params[0].location == Location("queries/q.sql", 4, 8)


@pytest.mark.slow
def test_check_passes_on_a_fresh_clone_with_no_server(tmp_path: Path) -> None:
    """The committed tree, cloned, checks clean with no PostgreSQL to start or reach."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    cluster = tmp_path / "no-cluster"
    cluster.mkdir()
    environment = {
        **os.environ,
        "CONNLOG_PG_DIR": str(cluster),  # an embedded server would be created here
        "PG_BINDIR": str(tmp_path / "no-bin"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "check"],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is up to date" in result.stdout
    assert list(cluster.iterdir()) == [], "check started an embedded server"
