"""``codegen generate --watch``: a real watcher process, a query file edited from the test."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from tests.codegen.conftest import CASES
from tests.conftest import start_server

TIMEOUT = 20.0  # seconds for one regeneration to show up, on a busy machine


class Lines:
    """The watcher's output (stdout and stderr together), line by line, as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        stream = process.stdout

        def read() -> None:
            for line in stream:
                self._lines.put(line)

        threading.Thread(target=read, daemon=True).start()

    def until(self, text: str) -> str:
        """The first line from now on containing ``text``."""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {TIMEOUT}s; saw:\n{''.join(self.seen)}")


def _scratch_databases(pid: int) -> list[str]:
    with psycopg.connect(start_server()) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
            [f"codegen_scratch_{pid}_"],
        ).fetchall()
    return [str(name) for (name,) in rows]


def test_watch_regenerates_the_edited_query_and_survives_errors(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(CASES / "join_left_nullable" / "migrations", root / "migrations")
    (root / "queries").mkdir()
    sql = root / "queries" / "books.sql"
    shutil.copy(CASES / "join_left_nullable" / "queries.sql", sql)
    (root / "pyproject.toml").write_text(
        f'[tool.codegen]\nout = "generated"\ndatabase = "{start_server()}"\n'
    )
    module = root / "generated" / "books.py"
    # A shell's background job (`./dev test &`) runs with SIGINT ignored, and a child inherits
    # that: the watcher would never hear the Ctrl-C below. It starts with the default instead.
    ignored = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "connlog.codegen", "generate", "--watch"],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, ignored)
    try:
        lines = Lines(process)
        assert "files written" in lines.until("codegen: started: ")
        assert "def authors_with_books(" in module.read_text()

        # A query renamed: its function is renamed in the module, and the line says why.
        sql.write_text(sql.read_text().replace("AuthorsWithBooks", "AuthorsAndBooks"))
        line = lines.until("queries/books.sql changed: ")
        assert "1 described" in line, line
        assert " in " in line and line.rstrip().endswith("s (generated)"), line
        text = module.read_text()
        assert "def authors_and_books(" in text and "def authors_with_books(" not in text

        # A syntax error is reported located; the module stays; watching goes on.
        sql.write_text(sql.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.id,,"))
        error = lines.until("queries/books.sql:")
        assert "error: SQL syntax error" in error, error
        assert "queries/books.sql changed: 1 error; nothing written" in lines.until(
            "nothing written"
        )
        assert module.read_text() == text
        assert process.poll() is None, "an error stopped the watcher"

        # Fixed: regenerated again; described in the kept read-only database, no scratch one.
        sql.write_text(sql.read_text().replace("ORDER BY a.id,,", "ORDER BY a.name"))
        assert "1 described" in lines.until("queries/books.sql changed: ")
        assert "ORDER BY a.name" in module.read_text()
        assert _scratch_databases(process.pid) == []

        # Ctrl-C: a clean exit, nothing left behind.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT) == 0
        assert "stopped watching" in lines.until("stopped watching")
        assert _scratch_databases(process.pid) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
