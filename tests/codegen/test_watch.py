"""``codegen generate --watch``: a real watcher process, a query file edited from the test."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connlog.codegen import generate, settings, watch
from tests.codegen.conftest import books_project
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
    books_project(root)
    sql = root / "queries" / "books.sql"
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


def test_watch_with_nothing_to_watch_says_so_and_exits(tmp_path: Path) -> None:
    """No migrations or query directory and no pyproject.toml: one line, exit 1, no hang."""
    assert not any((parent / "pyproject.toml").exists() for parent in tmp_path.parents)
    result = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "generate", "--watch",
         "--migrations", "migrations", "--queries", "queries"],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "codegen: error: nothing to watch: neither migrations/ nor queries/ exists, and there "
        "is no pyproject.toml; create them, or pass --migrations and --queries\n"
    )


def test_watch_reads_the_settings_once_per_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process (a real watcher and run): the start, then one read per change."""
    root = tmp_path / "project"
    books_project(root)
    sql = root / "queries" / "books.sql"
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reads: list[Path] = []

    def counted(args: argparse.Namespace, cwd: Path) -> settings.Settings:
        reads.append(cwd)
        return settings.settings_from(args, cwd)

    monkeypatch.setattr(watch, "settings_from", counted)
    monkeypatch.setattr(generate, "settings_from", counted)
    runs: queue.Queue[int] = queue.Queue()
    completed: list[int] = []
    real_run = generate.run

    def reported(args: argparse.Namespace, **options: Any) -> int:
        code = real_run(args, **options)
        completed.append(code)  # in the watcher's own thread, before it waits again
        runs.put(code)  # after its summary line
        return code

    monkeypatch.setattr(generate, "run", reported)

    # Ctrl-C is the subprocess test's business; here the watcher stops after the start and the
    # one change: its next wait raises KeyboardInterrupt, as Ctrl-C would (no signal, which a
    # test worker may ignore or block, leaving the watcher waiting for ever).
    gave_up = threading.Event()
    real_next = watch._Watcher.next

    def next_until_done(self: Any) -> str:
        if len(completed) >= 2 or gave_up.is_set():
            raise KeyboardInterrupt
        return real_next(self)

    monkeypatch.setattr(watch._Watcher, "next", next_until_done)

    def edit_then_stop() -> None:
        try:
            assert runs.get(timeout=TIMEOUT) == 0
            time.sleep(0.3)  # the watcher waits for the next change
            sql.write_text(sql.read_text().replace("AuthorsWithBooks", "AuthorsAndBooks"))
            assert runs.get(timeout=TIMEOUT) == 0
        except BaseException:
            gave_up.set()  # a missed change: one more write wakes the watcher to stop
            sql.write_text(sql.read_text())
            raise

    editor = threading.Thread(target=edit_then_stop)
    editor.start()
    args = argparse.Namespace(
        command="generate", watch=True, migrations=None, queries=None, out=None, database=None
    )
    try:
        assert watch.run(args) == 0
    finally:
        editor.join()
    printed = capsys.readouterr()
    assert "queries/books.sql changed: " in printed.out, printed
    assert "def authors_and_books(" in (root / "generated" / "books.py").read_text()
    assert len(reads) == 2, reads  # the start and the one change
