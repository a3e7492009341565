"""A killed run's scratch directory: ignored by git and ruff, and removed by the next run."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from codegen import write
from codegen.python.render import RenderedFile
from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
# What ruff would flag were it a module it lints: an unused import (F401).
LINTED = "import os\n"


def killed_mid_write(out: Path) -> None:
    """Run ``write`` in a process killed (SIGKILL) as it moves its first file into place."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from codegen import write
        from codegen.python.render import RenderedFile

        os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        write.write(Path({str(out)!r}), [RenderedFile("a.py", {LINTED!r}),
                                         RenderedFile("aio/b.py", {LINTED!r})])
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True)
    assert result.returncode == -signal.SIGKILL, result.stderr


def test_a_killed_write_leaves_nothing_git_or_ruff_sees_and_the_next_run_cleans_it(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    out = project / "generated"
    killed_mid_write(out)
    (left,) = [p for p in project.iterdir() if p.name.startswith(".") and p.name != ".git"]
    assert left.name.startswith(write.SCRATCH_PREFIX)
    inside = sorted(p.name for p in left.iterdir())
    # The files to move (a.py, aio/b.py, py.typed) under names no linter reads, and an ignore.
    assert inside == [".gitignore", "0.tmp", "1.tmp", "2.tmp"]

    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""
    lint = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout

    # A live run's scratch stays; the killed one goes; the files land.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = project / f"{write.SCRATCH_PREFIX}{sleeper.pid}-abcdefgh"
        live.mkdir()
        write.write(out, [RenderedFile("a.py", "x = 1\n")])
        assert not left.exists()
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert (out / "a.py").read_text() == "x = 1\n"
    write.write(out, [RenderedFile("a.py", "x = 2\n")])
    assert not live.exists(), "its process is gone: abandoned"
    assert sorted(p.name for p in project.iterdir()) == [".git", "generated"]
