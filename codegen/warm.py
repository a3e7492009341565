"""The client side of the warm generator: hand ``generate`` or ``check`` to it, start it, stop it.

A fresh ``codegen generate`` after one edit spends most of its time importing
psycopg, pglast, jinja2 and the generator. A warm generator
(``codegen.warm_server``) has imported them once and forks a child per run,
so each run starts from the same just-imported state, as a fresh process does,
without paying for the imports. This module is all a run imports to use it:
standard library only, and only once the fingerprint (``codegen.fingerprint``)
found that something changed.

Trust first:

- identical results: the child runs ``generate`` or ``check`` on the client's
  arguments, in its directory, environment and umask, and the client replays
  what it printed, in order, on its own stdout and stderr, and exits with its
  status;
- never stale: the client sends its identity (the generator's files, the
  Python and tools it runs with, the project root, the environment); a warm
  generator with another one exits, and the client runs the generator itself,
  then starts a new one (the settings are read by each run, so they never
  are); a run whose interpreter has options of its own never uses one;
- bounded: the warm generator beats every ``BEAT`` seconds while it runs;
  after ``$CODEGEN_WARM_TIMEOUT`` seconds (default 5) of silence the client
  kills it and runs the generator itself, saying so in one line; a warm
  generator that crashed is reported the same way;
- one per project root (the directory of the nearest pyproject.toml, else the
  current one), in a private state directory (0700; socket and files 0600),
  ``$XDG_CACHE_HOME/codegen/warm/<hash of the root>/``; concurrent clients
  take turns (a lock), so two runs never overlap;
- never started, nor used, with ``--no-warm``, ``$CODEGEN_NO_WARM`` or ``$CI``
  set, or an interpreter run with options of its own (``python -X ...``);
  idle for ``$CODEGEN_WARM_IDLE`` seconds (default 900) it exits, and
  ``codegen db stop`` stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Final, cast

from connlog.codegen import fingerprint
from connlog.codegen.processes import alive
from connlog.codegen.project import find_pyproject

PROTOCOL: Final = 1
OPT_OUT_ENV: Final = "CODEGEN_NO_WARM"
IDLE_ENV: Final = "CODEGEN_WARM_IDLE"
TIMEOUT_ENV: Final = "CODEGEN_WARM_TIMEOUT"
DEFAULT_IDLE: Final = 900.0
DEFAULT_TIMEOUT: Final = 5.0
BEAT: Final = 0.5  # seconds between two beats of a warm generator while it runs
# How long a client waits for another client's turn before running the generator itself.
TURN_WAIT: Final = 300.0
# Set by the shell for each command or directory: never read by the generator, so a
# difference in them alone keeps the warm generator (the child still gets the client's).
_SHELL_ONLY: Final = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES"})
# AF_UNIX paths are limited to 108 bytes (sun_path); a longer one is not used. The spare
# bytes are for the name the warm generator binds before renaming it to SOCKET.
_SOCKET_PATH_MAX: Final = 100

# How long a stop or a kill waits for the warm generator to let go of its lock.
_GONE_WAIT: Final = 5.0

SOCKET: Final = "socket"
PID_FILE: Final = "pid"
LOG_FILE: Final = "log"
SERVER_LOCK: Final = "server.lock"
CLIENT_LOCK: Final = "client.lock"


def enabled(no_warm: bool) -> bool:
    """Whether this run may use (and start) a warm generator.

    A malformed ``$CODEGEN_WARM_IDLE`` or ``$CODEGEN_WARM_TIMEOUT`` is said in one line,
    and the run happens in its own process.
    """
    if no_warm or os.environ.get(OPT_OUT_ENV) or os.environ.get("CI"):
        return False
    for name in (IDLE_ENV, TIMEOUT_ENV):
        if name in os.environ and _seconds(name, 0) <= 0:
            _note(f"${name}={os.environ[name]!r} is not a number of seconds above 0")
            return False
    # SO_PEERCRED: the warm generator checks each client's user by it (Linux).
    return _plain_interpreter() and hasattr(socket, "SO_PEERCRED")


def _plain_interpreter() -> bool:
    """No interpreter option (``-X importtime``, ``-W error``, ``-O``...) before the program:
    the warm generator runs with none, so such a run stays in its own process."""
    first = sys.orig_argv[1] if len(sys.orig_argv) > 1 else "-m"
    return first == "-m" or not first.startswith("-")


def project_root(cwd: Path) -> Path:
    pyproject = find_pyproject(cwd)
    return pyproject.parent if pyproject is not None else cwd.resolve()


def state_directory(root: Path) -> Path:
    key = hashlib.sha256(os.fsencode(root)).hexdigest()[:16]
    return fingerprint.cache_directory() / "warm" / key


def private_state_directory(root: Path) -> Path | None:
    """The project's state directory, created 0700; None when it is not ours alone (another
    user's, or open to others) or its socket's path would be too long."""
    state = state_directory(root)
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            state.mkdir(mode=0o700)
        info = state.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    if stat.S_IMODE(info.st_mode) & 0o077:
        return None
    if len(os.fsencode(state / SOCKET)) > _SOCKET_PATH_MAX:
        return None
    return state


def identity(root: Path) -> str:
    """What a warm generator must share with a client to run for it."""
    environment = {name: value for name, value in os.environ.items() if name not in _SHELL_ONLY}
    parts = [
        f"codegen-warm/{PROTOCOL}",
        str(root),
        str(fingerprint.GENERATOR),  # which generator is imported
        fingerprint.generator_identity(),
        json.dumps(sorted(environment.items())),
    ]
    return hashlib.sha256(os.fsencode("\0".join(parts))).hexdigest()


def timeout() -> float:
    return _seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT)


def idle_timeout() -> float:
    return _seconds(IDLE_ENV, DEFAULT_IDLE)


def _seconds(name: str, default: float) -> float:
    """``$name`` as seconds above 0 (``enabled`` refused any other value), else ``default``."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 and value != float("inf") else default


def delegate(argv: Sequence[str], cwd: Path) -> int | None:
    """Run ``codegen ARGV`` in the project's warm generator: its exit status, after replaying
    its output; None when none ran it (none running, a stale one, or one that failed,
    which is said in one line): the caller runs the generator itself."""
    root = project_root(cwd)
    state = state_directory(root)
    if not (state / SOCKET).exists():
        return None  # the common case of no warm generator, without creating anything
    if private_state_directory(root) is None:
        return None
    request: dict[str, object] = {
        "protocol": PROTOCOL,
        "identity": identity(root),
        "argv": list(argv),
        "cwd": str(cwd),
        "env": dict(os.environ),
        "umask": _umask(),
    }
    with _turn(state) as mine:
        if not mine:
            _note(f"another run has held the warm generator for {TURN_WAIT:.0f} s")
            return None
        reply = _ask(state, request)
    if reply is None or "stale" in reply:
        return None
    code, output = reply.get("exit"), reply.get("output")
    if not isinstance(code, int) or not isinstance(output, list):
        _note(str(reply.get("failed", f"the warm generator answered {reply!r}")))
        return None
    for item in cast(list[object], output):
        match item:
            case [1, str(text)]:
                sys.stdout.write(text)
            case [2, str(text)]:
                sys.stderr.write(text)
            case _:
                raise AssertionError(f"the warm generator sent {item!r} as output")
    return code


def _ask(state: Path, request: dict[str, object]) -> dict[str, object] | None:
    """The warm generator's last message for ``request``; None when none listens.

    A silence longer than ``timeout()`` means it hangs: it is killed, so that it can
    write nothing after the client has run the generator itself.
    """
    limit = timeout()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(limit)
        try:
            conn.connect(str(state / SOCKET))
        except OSError:
            return None  # a socket left by a warm generator that is gone
        try:
            conn.sendall(json.dumps(request).encode() + b"\n")
            for line in conn.makefile("rb"):
                message: dict[str, object] = json.loads(line)
                if message:  # the empty message is a beat
                    return message
        except TimeoutError:
            pid = _kill(state)
            return {"failed": f"the warm generator (pid {pid}) was silent for {limit:g} s; killed"}
        except (OSError, ValueError) as exc:
            return {"failed": f"the warm generator failed ({exc})"}
    # It died mid-run (its child keeps no copy of the connection): a run it forked may
    # still be going, and must not write beside the client's own.
    _kill(state, orphaned_run=True)
    return {"failed": "the warm generator closed the connection without an answer"}


def _note(why: str) -> None:
    print(f"codegen: {why}; running the generator in this process", file=sys.stderr)


@contextlib.contextmanager
def _turn(state: Path) -> Generator[bool]:
    """Hold the project's client lock (True), waiting for another client's turn to end; False
    after ``TURN_WAIT`` seconds."""
    descriptor = os.open(state / CLIENT_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield lock_within(descriptor, TURN_WAIT)
    finally:
        os.close(descriptor)  # releases the lock


def lock_within(descriptor: int, seconds: float) -> bool:
    """Take the exclusive flock on ``descriptor``, waiting up to ``seconds``; whether taken."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def spawn(cwd: Path) -> None:
    """Start the project's warm generator in the background, for the next run.

    It detaches (a session of its own, no inherited stream), so a caller that waits for
    this process's output is not kept waiting by it; one already running makes it exit.
    None is started while one listens (the run fell back only because its child failed, or
    another client held its turn): the new one would wait to take over, and take over after
    a ``db stop`` of the one it waited for, leaving a warm generator running.
    """
    root = project_root(cwd)
    state = private_state_directory(root)
    if state is None or ((state / SOCKET).exists() and running_pid(state) is not None):
        return
    with contextlib.suppress(OSError):
        subprocess.Popen(
            server_command(root),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def server_command(root: Path) -> list[str]:
    """How a warm generator for ``root`` is started (-P: without the current directory on
    sys.path, so that what it imports is what the client's identity names)."""
    return [sys.executable, "-P", "-m", "connlog.codegen.warm_server", str(root)]


def stop(cwd: Path) -> bool:
    """Stop the project's warm generator; whether one was running."""
    root = project_root(cwd)
    state = state_directory(root)
    if not state.is_dir() or private_state_directory(root) is None:
        return False
    if (state / SOCKET).exists():
        with _turn(state):
            reply = _ask(state, {"protocol": PROTOCOL, "stop": True})
        if reply is not None and "stopped" in reply:
            _wait_gone(state)
            return True
    return _kill(state) is not None  # one still importing, or one that does not answer


def running_pid(state: Path) -> int | None:
    """The pid of the warm generator holding this state directory's server lock, if any."""
    try:
        descriptor = os.open(state / SERVER_LOCK, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # held: a warm generator runs
    else:
        return None
    finally:
        os.close(descriptor)
    pid = _recorded_pid(state)
    return pid if pid is not None and alive(pid) else None


def _recorded_pid(state: Path) -> int | None:
    try:
        return int(json.loads((state / PID_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _kill(state: Path, *, orphaned_run: bool = False) -> int | None:
    """Kill the warm generator and the run it forked (its process group: it leads a session
    of its own); its pid, or None when none ran.

    ``orphaned_run``: it has just died mid-run, so its pid file is its own still (a killed
    one leaves it), and what is left of its group is the run.
    """
    pid = _recorded_pid(state) if orphaned_run else running_pid(state)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _wait_gone(state)
    return pid


def _wait_gone(state: Path) -> None:
    deadline = time.monotonic() + _GONE_WAIT
    while running_pid(state) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
