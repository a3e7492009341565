"""The warm generator (``codegen.warm``, ``codegen.warm_server``), with real processes only.

Each test runs ``codegen`` as the user does (``python -m connlog.codegen``, a
fresh process) in a project of its own, with a stamp cache and state directory
of its own (``XDG_CACHE_HOME``) and no embedded cluster (``CONNLOG_PG_DIR``
points at an empty directory, so ``codegen db stop`` stops nothing of the
suite's): the project's pyproject.toml names the test server. Whatever warm
generator a test starts, it stops (or sees exit) before it ends.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import pytest

from connlog.codegen import warm, warm_server
from tests.codegen.conftest import CASES, books_project, generator_copy, run_codegen, snapshot
from tests.conftest import start_server

QUERY = "ORDER BY a.id, b.id"
# Output of each kind: many types, arrays and enums; composites; embedded rows; a syntax
# error; errors the server finds; errors after recovery; one only planning finds.
PARITY_CASES = (
    "all_types",
    "composite_types",
    "embed",
    "syntax_error",
    "unknown_column",
    "error_recovery",
    "untyped_parameter",
)


Completed = subprocess.CompletedProcess[str]


class Project:
    """A small generated project and the environment its runs share."""

    def __init__(self, root: Path, cache: Path, env: dict[str, str]) -> None:
        self.root = root
        self.cache = cache
        self.env = env
        self.state = cache / "codegen" / "warm" / warm.state_directory(root).name
        self.edits = 0
        self.started: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str, env: dict[str, str] | None = None) -> Completed:
        return subprocess.run(
            [sys.executable, "-m", "connlog.codegen", *args],
            cwd=self.root, env=env or self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def edit(self) -> None:
        """Edit one query (its ORDER BY): one to describe, so no stamp answers."""
        self.edits += 1
        sql = self.root / "queries" / "books.sql"
        sql.write_text(re.sub(rf"{QUERY}[^;]*;", f"{QUERY} LIMIT {self.edits};", sql.read_text()))

    def pid(self) -> int | None:
        return warm.running_pid(self.state)

    def wait_listening(self, other_than: int | None = None) -> int:
        """The pid of the warm generator once it listens (one other than ``other_than``)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is not None and pid != other_than and (self.state / warm.SOCKET).exists():
                return pid
            time.sleep(0.02)
        raise AssertionError(f"no warm generator listens; its log:\n{self.log()}")

    def wait_gone(self, pid: int) -> None:
        deadline = time.monotonic() + 20
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(pid), f"warm generator {pid} still runs"

    def log(self) -> str:
        path = self.state / warm.LOG_FILE
        return path.read_text() if path.exists() else ""

    def served(self) -> list[str]:
        return [line for line in self.log().splitlines() if " ran " in line]

    def start(self) -> int:
        """The project's warm generator started as a run starts it; its pid once it listens."""
        server = subprocess.Popen(
            warm.server_command(self.root), cwd=self.root, env=self.env, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.started.append(server)
        return self.wait_listening()


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it if it is our child
        if waited:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path: a socket's path must fit in 108 bytes, and pytest's
    ``tmp_path`` for a long test name does not leave room for the state directory's."""
    path = Path(tempfile.mkdtemp(prefix="cw-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _living_members(group: int) -> list[int]:
    """The processes of process group ``group`` that are not zombies (a killed process whose
    parent is gone waits for init to reap it)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat_file.parent.name))
    return members


def _warm_generators_of(root: Path) -> list[int]:
    """The living warm generator processes started for ``root`` (serving or waiting)."""
    command = " ".join(warm.server_command(root)[2:]).encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if command in cmdline.read_bytes().replace(b"\0", b" "):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # gone meanwhile
    return sorted(pid for pid in found if _alive(pid))


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", warm.OPT_OUT_ENV)}
    env |= {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "CONNLOG_PG_DIR": str(tmp_path / "no-cluster"),
        warm.IDLE_ENV: "30",  # one a failed test leaves behind goes by itself, soon
    }
    return env | extra


@pytest.fixture
def project(tmp_path: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    root = tmp_path / "project"
    books_project(root)
    env = _environment(short_tmp)
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    generated = run_codegen("generate", cwd=root)  # here: cheaper than a fresh process
    assert generated.code == 0, generated.stderr
    project = Project(root.resolve(), short_tmp / "cache", env)
    yield project
    warm.stop(root)
    for server in project.started:
        server.wait(timeout=10)


def _timeless(text: str) -> str:
    return re.sub(r" in \d+\.\d\ds ", " in #s ", text)


def test_a_warm_run_is_byte_for_byte_an_in_process_run(
    tmp_path: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Golden cases, errors included: the same files, stdout, stderr and exit status, whether
    the run happens here or in the warm generator (a few cases of each kind: the suite's time)."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    env = _environment(short_tmp)
    warm_project = Project(there.resolve(), short_tmp / "cache", env)
    cases = [CASES / name for name in PARITY_CASES]
    try:
        for number, case in enumerate(cases):
            args = (
                "generate", "--migrations", str(case / "migrations"), "--queries", str(case),
                "--out", f"out/{case.name}", "--database", start_server(),
            )  # fmt: skip
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "here-cache"))
            ours = run_codegen(*args, cwd=here)
            before = len(warm_project.served())
            theirs = warm_project.run(*args)
            assert (theirs.returncode, _timeless(theirs.stdout), theirs.stderr) == (
                ours.code, _timeless(ours.stdout), ours.stderr
            ), case.name  # fmt: skip
            assert snapshot(there / "out" / case.name) == snapshot(here / "out" / case.name)
            if number == 0:
                warm_project.wait_listening()  # the first run ran here and started it
            else:
                assert len(warm_project.served()) == before + 1, warm_project.log()
    finally:
        monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
        warm.stop(there)


def test_check_reports_a_stale_query_as_an_in_process_run_does(project: Project) -> None:
    project.start()
    project.edit()
    warm_check = project.run("check")
    here = run_codegen("check", cwd=project.root)
    assert warm_check.returncode == here.code == 1
    assert (warm_check.stdout, warm_check.stderr) == (here.stdout, here.stderr)
    assert "query AuthorsWithBooks is stale" in warm_check.stderr
    assert f"+{QUERY} LIMIT {project.edits}" in warm_check.stdout
    assert len(project.served()) == 1, project.log()


def _generator_copy(project: Project, tmp_path: Path) -> Path:
    """A copy of the generator, which the project's runs import; its ``codegen`` package."""
    copy = tmp_path / "generator"
    project.env["PYTHONPATH"] = str(copy)
    return generator_copy(copy)


# Appended to the copy's generate.py: a run that finds ``crash-once`` removes it and dies; one
# that finds ``slow-once`` removes it and sleeps 30 s first.
ONCE = """
_run = run


def run(*args, **kwargs):
    import os, pathlib, signal, time

    if pathlib.Path("crash-once").exists():
        pathlib.Path("crash-once").unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    if pathlib.Path("slow-once").exists():
        pathlib.Path("slow-once").unlink()
        time.sleep(30)
    return _run(*args, **kwargs)
"""


def test_a_changed_generator_or_environment_restarts_it(project: Project, tmp_path: Path) -> None:
    """A copy of the generator with a comment added to one module (same output) is another
    generator: the warm one exits and the run happens here; so with another PATH."""
    generator = _generator_copy(project, tmp_path)
    first = project.start()

    project.edit()
    assert project.run("generate").returncode == 0
    assert len(project.served()) == 1, "an unchanged generator keeps the warm one"

    module = generator / "generate.py"
    module.write_text(module.read_text() + "\n# a comment\n")
    project.edit()
    restarted = project.run("generate")
    assert restarted.returncode == 0, restarted.stderr
    assert "1 described" in restarted.stdout
    assert restarted.stderr == "", "a restart is not a failure: nothing to say"
    project.wait_gone(first)
    second = project.wait_listening(other_than=first)
    assert project.served() == [], "the new warm generator has run nothing yet"

    other_path = {**project.env, "PATH": f"{tmp_path}{os.pathsep}{project.env['PATH']}"}
    project.edit()
    assert project.run("generate", env=other_path).returncode == 0
    project.wait_gone(second)
    project.wait_listening(other_than=second)
    assert project.served() == []


def test_concurrent_runs_take_turns(project: Project) -> None:
    """Rounds of four clients started at once on the same project: every one succeeds, the
    warm generator runs them one after the other, and the result is what a run here makes."""
    project.start()
    for _ in range(3):
        project.edit()
        command = [sys.executable, "-m", "connlog.codegen", "generate"]
        clients = [
            subprocess.Popen(command, cwd=project.root, env=project.env, stdout=PIPE, stderr=PIPE)
            for _ in range(4)
        ]
        for client in clients:
            out, err = client.communicate(timeout=60)
            stdout, stderr = out.decode(), err.decode()
            assert client.returncode == 0, stderr
            assert stderr == "", stderr
            assert "files written" in stdout or "up to date" in stdout
    spans = [
        tuple(map(float, re.findall(r"\[([\d.]+), ([\d.]+)\]", line)[0]))
        for line in project.served()
    ]
    assert len(spans) >= 3, project.log()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, f"two runs overlapped:\n{project.log()}"
    shutil.rmtree(project.cache / "codegen" / "fingerprints")
    check = run_codegen("check", cwd=project.root)
    assert check.code == 0, check.stdout + check.stderr
    assert "is up to date" in check.stdout


def test_its_socket_appears_only_once_it_listens(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that finds the socket is never refused (it would run the generator itself,
    and a hung warm generator would go unnoticed): nothing is at the socket's path until
    the listener listens."""
    seen_before_listening: list[bool] = []
    listen = socket.socket.listen

    def observed_listen(self: socket.socket, backlog: int) -> None:
        seen_before_listening.append((short_tmp / warm.SOCKET).exists())
        listen(self, backlog)

    monkeypatch.setattr(socket.socket, "listen", observed_listen)
    short_tmp.chmod(0o700)
    with (
        warm_server._listening(short_tmp) as listener,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client,
    ):
        client.connect(str(short_tmp / warm.SOCKET))
        listener.accept()[0].close()
    assert seen_before_listening == [False]
    assert not (short_tmp / warm.SOCKET).exists()


def test_a_killed_warm_generator_is_replaced_silently(project: Project) -> None:
    pid = project.start()
    os.kill(pid, signal.SIGKILL)
    project.wait_gone(pid)
    project.edit()
    result = project.run("generate")
    assert (result.returncode, result.stderr) == (0, "")
    assert "1 described" in result.stdout
    project.wait_listening(other_than=pid)


def test_a_run_that_crashes_in_the_warm_generator_happens_here(
    project: Project, tmp_path: Path
) -> None:
    generate = _generator_copy(project, tmp_path) / "generate.py"
    generate.write_text(generate.read_text() + ONCE)
    pid = project.start()
    (project.root / "crash-once").touch()
    project.edit()
    result = project.run("generate")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "codegen: the warm generator's run ended without a result (killed by SIGKILL); "
        "running the generator in this process\n"
    )
    assert "1 described" in result.stdout
    assert not (project.root / "crash-once").exists()
    assert project.pid() == pid, "the warm generator outlives its child's crash"
    # ... and needs no successor: one would wait for its lock, and take over after a stop.
    assert _warm_generators_of(project.root) == [pid]
    project.edit()
    again = project.run("generate")
    assert (again.returncode, again.stderr) == (0, "")
    assert project.served()[-1].endswith("exit 0"), project.log()


def test_a_warm_generator_killed_mid_run_takes_its_run_with_it(
    project: Project, tmp_path: Path
) -> None:
    """Its forked run keeps no copy of the client's connection, so the client sees the end at
    once; it kills what is left of the group (the run), then runs the generator itself."""
    generate = _generator_copy(project, tmp_path) / "generate.py"
    generate.write_text(generate.read_text() + ONCE)
    pid = project.start()
    slow = project.root / "slow-once"
    slow.touch()
    project.edit()
    started = time.monotonic()
    client = subprocess.Popen(
        [sys.executable, "-m", "connlog.codegen", "generate"],
        cwd=project.root, env=project.env, stdout=PIPE, stderr=PIPE, text=True,
    )  # fmt: skip
    while slow.exists():  # the forked run is in its sleep
        assert time.monotonic() - started < 20
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = client.communicate(timeout=20)
    assert time.monotonic() - started < 15, "the client waited for the orphaned run"
    assert client.returncode == 0, stderr
    assert stderr == (
        "codegen: the warm generator closed the connection without an answer; "
        "running the generator in this process\n"
    )
    assert "1 described" in stdout
    assert _living_members(pid) == [], "the orphaned run still runs"
    project.wait_listening(other_than=pid)  # the run started a new one (the fixture stops it)


def test_a_hung_warm_generator_is_killed_and_the_run_happens_here(project: Project) -> None:
    project.env[warm.TIMEOUT_ENV] = "1"
    pid = project.start()
    os.kill(pid, signal.SIGSTOP)
    project.edit()
    started = time.monotonic()
    result = project.run("generate")
    assert time.monotonic() - started < 15
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"codegen: the warm generator (pid {pid}) was silent for 1 s; killed; "
        "running the generator in this process\n"
    )
    assert "1 described" in result.stdout
    project.wait_gone(pid)
    project.wait_listening(other_than=pid)  # the run started a new one (the fixture stops it)


@pytest.mark.parametrize("how", ["flag", "env", "ci"])
def test_an_opt_out_neither_uses_nor_starts_one(project: Project, how: str) -> None:
    env = project.env | ({warm.OPT_OUT_ENV: "1"} if how == "env" else {})
    env |= {"CI": "true"} if how == "ci" else {}
    flag = ["--no-warm"] if how == "flag" else []
    project.edit()
    alone = project.run("generate", *flag, env=env)
    assert alone.returncode == 0, alone.stderr
    assert not project.state.exists(), "an opted-out run prepared a warm generator"

    if how == "flag":  # with the same environment, a running one is passed by
        project.start()
        project.edit()
        assert project.run("generate", *flag, env=env).returncode == 0
        assert project.served() == []


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_malformed_timeout_is_said_and_the_run_happens_here(project: Project, value: str) -> None:
    project.edit()
    result = project.run("generate", env=project.env | {warm.TIMEOUT_ENV: value})
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"codegen: ${warm.TIMEOUT_ENV}={value!r} is not a number of seconds above 0; "
        "running the generator in this process\n"
    )
    assert "1 described" in result.stdout
    assert not project.state.exists(), "none is started with it"


def test_it_is_private_stops_with_db_stop_and_when_idle(project: Project) -> None:
    pid = project.start()
    assert stat.S_IMODE(project.state.stat().st_mode) == 0o700
    for name in (warm.SOCKET, warm.PID_FILE, warm.LOG_FILE, warm.SERVER_LOCK):
        assert stat.S_IMODE((project.state / name).stat().st_mode) == 0o600, name
    stopped = project.run("db", "stop")
    assert stopped.stdout == "stopped the warm generator\nnot running\n", stopped.stderr
    project.wait_gone(pid)
    assert not (project.state / warm.SOCKET).exists()

    project.env[warm.IDLE_ENV] = "1"
    idle = project.start()
    project.wait_gone(idle)
    assert project.log().rstrip().endswith("idle: exiting")
