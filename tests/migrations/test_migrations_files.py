"""The migration files themselves: paired, ordered, linear, covered by fixtures, lint-clean."""

from __future__ import annotations

import itertools
import re
import subprocess

from connlog.codegen.database import migrate
from tests.migrations.migration_support import BIN, FIXTURES_DIR, MIGRATIONS_DIR, REPO_ROOT

ID_PATTERN = re.compile(r"^\d{4}_[a-z0-9_]+$")
# squawk reads `-- squawk-ignore rule[, rule] -- reason`: the text after the second `--`.
EXPLAINED_IGNORE = re.compile(r"squawk-ignore\S*\s+[\w,\s-]+?\s--\s*\S")
SQUAWK = str(BIN / "squawk")


def _migration_ids() -> list[str]:
    return sorted(
        path.name.removesuffix(".sql")
        for path in MIGRATIONS_DIR.glob("*.sql")
        if not path.name.endswith(".rollback.sql")
    )


def test_every_migration_has_a_rollback_file() -> None:
    missing = [
        f"{migration_id}.rollback.sql"
        for migration_id in _migration_ids()
        if not (MIGRATIONS_DIR / f"{migration_id}.rollback.sql").is_file()
    ]
    assert missing == []


def test_every_rollback_file_has_its_migration() -> None:
    orphans = [
        path.name
        for path in MIGRATIONS_DIR.glob("*.rollback.sql")
        if not (MIGRATIONS_DIR / path.name.replace(".rollback.sql", ".sql")).is_file()
    ]
    assert orphans == []


def test_ids_are_a_four_digit_number_and_a_snake_case_name() -> None:
    assert [i for i in _migration_ids() if not ID_PATTERN.match(i)] == []


def test_ids_sort_in_the_order_yoyo_applies_them() -> None:
    assert migrate.ordered_ids(MIGRATIONS_DIR) == _migration_ids()


def test_each_migration_depends_on_exactly_the_one_before_it() -> None:
    ids = _migration_ids()
    expected: dict[str, list[str]] = {ids[0]: []}
    expected |= {later: [earlier] for earlier, later in itertools.pairwise(ids)}
    assert migrate.dependencies(MIGRATIONS_DIR) == expected


def test_every_migration_has_a_data_fixture() -> None:
    missing = [i for i in _migration_ids() if not (FIXTURES_DIR / f"{i}.sql").is_file()]
    assert missing == [], f"add tests/fixtures/<id>.sql with rows for: {missing}"


def test_squawk_finds_nothing_to_flag() -> None:
    result = subprocess.run(
        [SQUAWK, "--config", ".squawk.toml", "--reporter", "gcc", "migrations/*.sql"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"squawk:\n{result.stdout}{result.stderr}"


def test_every_squawk_suppression_gives_its_reason() -> None:
    unexplained = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(MIGRATIONS_DIR.glob("*.sql"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "squawk-ignore" in line and not EXPLAINED_IGNORE.search(line)
    ]
    assert unexplained == []
