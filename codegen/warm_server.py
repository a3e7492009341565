"""The warm generator (``python -P -m connlog.codegen.warm_server ROOT``; ``codegen.warm``).

It takes the project's server lock (or exits: one per project root), computes
its identity before importing anything of the generator, imports psycopg,
pglast, jinja2, yoyo and the whole generator, freezes what it imported out of
the garbage collector's way, and listens on the project's socket (0600, in the
private state directory). For each request it forks: the child applies the
client's directory, environment and umask, runs ``generate`` or ``check`` on
its arguments (``codegen.generate.run``, what the client would have run after
its fingerprint found a change) with stdout and stderr recorded, and sends back
the output and exit status; the parent beats every ``warm.BEAT`` seconds
meanwhile, and interrupts the child (as Ctrl-C would) if the client goes away.

A fork per run, rather than runs one after the other in one process (as dmypy
does): every run starts from the same just-imported state, as a fresh process
does, so nothing a run caches or leaves behind (a memo, a warning already
shown, a half-built object after an error) reaches the next, and a run that
crashes takes only its child down. It costs about 0.01-0.02 s a run.

It exits on a request with another identity (the client starts a new one),
on ``stop``, on SIGTERM, and after ``warm.idle_timeout()`` seconds without a
request. What it writes of its own is in the state directory: the socket, the
pid file, its lock, and a log of one line per request.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from connlog.codegen import warm

_WARM_MODULES: Final = (
    "connlog.codegen.cli",
    "connlog.codegen.generate",
    "connlog.codegen.database.migrate",
)
# How long a new warm generator waits for the one it replaces to let go of the lock.
_TAKEOVER: Final = 5.0


def main(argv: list[str]) -> int:
    root = Path(argv[0])
    state = warm.private_state_directory(root)
    if state is None:
        return 1
    lock = os.open(state / warm.SERVER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    if not warm.lock_within(lock, _TAKEOVER):
        return 0  # another warm generator serves this project
    log = os.open(state / warm.LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # Before importing: a file edited while it imports leaves it with an identity older than
    # its code, which the next client's differs from (a restart), never the other way round.
    identity = warm.identity(root)
    _write_pid(state)  # from now on ``codegen db stop`` can stop it
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _import_the_generator()
        with _listening(state) as listener:
            _serve(listener, identity, state / warm.SOCKET)
    finally:
        with contextlib.suppress(FileNotFoundError):
            (state / warm.PID_FILE).unlink()
        os.close(lock)
    return 0


def _import_the_generator() -> None:
    """Everything a run of ``generate`` or ``check`` imports, yoyo's lazy import included."""
    for module in _WARM_MODULES:
        importlib.import_module(module)
    gc.collect()
    gc.freeze()  # the imported modules stay out of every collection of every child


@contextlib.contextmanager
def _listening(state: Path) -> Generator[socket.socket]:
    """The project's socket (0600), listening; removed on exit.

    It is bound under a private name and renamed into place once it listens: a client
    that finds the socket never has its connection refused by one not yet listening.
    """
    path = state / warm.SOCKET
    # Short: a socket's path must fit in 108 bytes (``warm`` leaves a few spare for this).
    unready = state / f".s{os.getpid()}"
    for stale in (path, unready):  # left by a killed warm generator (we hold the lock)
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        mask = os.umask(0o177)
        try:
            listener.bind(str(unready))
        finally:
            os.umask(mask)
        try:
            unready.chmod(0o600)
            listener.listen(16)
            os.replace(unready, path)
            yield listener
        finally:
            for name in (unready, path):
                with contextlib.suppress(FileNotFoundError):
                    name.unlink()


def _write_pid(state: Path) -> None:
    temporary = state / f".{warm.PID_FILE}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"pid": os.getpid()}, handle)
    os.replace(temporary, state / warm.PID_FILE)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serve(listener: socket.socket, identity: str, path: Path) -> None:
    """Answer requests until one says to exit, or none came for the idle timeout.

    Idle, it first removes its socket (a client arriving now finds none and runs the
    generator itself), then answers those already queued, so no client that connected
    in time is turned away.
    """
    listener.settimeout(warm.idle_timeout())
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            _log("idle: exiting")
            path.unlink(missing_ok=True)
            listener.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while _handle(listener.accept()[0], identity):
                    pass
            return
        if not _handle(conn, identity):
            return


def _handle(conn: socket.socket, identity: str) -> bool:
    """Answer one connection; False when this warm generator must exit."""
    conn.setblocking(True)  # one accepted from a non-blocking listener is non-blocking too
    with conn:
        return not _same_user(conn) or _answer(conn, identity)


def _same_user(conn: socket.socket) -> bool:
    """The peer runs as our user (the socket's 0600 already says so; this holds if it did not)."""
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return bool(uid == os.getuid())


def _answer(conn: socket.socket, identity: str) -> bool:
    """Answer one request; False when this warm generator must exit."""
    conn.settimeout(warm.timeout())
    try:
        line = conn.makefile("rb").readline()
        if not line.endswith(b"\n"):
            raise ValueError("the client closed the connection mid-request")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError(f"not an object: {message!r}")
    except (OSError, ValueError) as exc:
        _log(f"unreadable request: {exc}")
        return True
    fields = cast(dict[str, object], message)
    if fields.get("protocol") != warm.PROTOCOL:
        _send(conn, {"stale": "protocol"})
        _log("another protocol: exiting")
        return False
    if fields.get("stop"):
        _send(conn, {"stopped": True})
        _log("stop: exiting")
        return False
    if fields.get("identity") != identity:
        _send(conn, {"stale": "identity"})
        _log("another identity (generator, tools, root or environment): exiting")
        return False
    request = _Run.of(fields)
    if request is None:
        _log(f"malformed request (fields {sorted(fields)})")  # not their values: the environment
        return True
    _run_and_reply(conn, request)
    return True


@dataclass(frozen=True, slots=True)
class _Run:
    """A request to run ``codegen ARGV`` as the client would have."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    umask: int

    @staticmethod
    def of(fields: dict[str, object]) -> _Run | None:
        argv, cwd, env, umask = (fields.get(k) for k in ("argv", "cwd", "env", "umask"))
        if not (isinstance(argv, list) and isinstance(cwd, str) and isinstance(env, dict)):
            return None
        if not isinstance(umask, int):
            return None
        arguments = [str(argument) for argument in cast(list[object], argv)]
        environment = {str(k): str(v) for k, v in cast(dict[object, object], env).items()}
        return _Run(arguments, cwd, environment, umask)


def _send(conn: socket.socket, message: dict[str, object]) -> bool:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        return False
    return True


def _run_and_reply(conn: socket.socket, request: _Run) -> None:
    """Fork, run the request in the child, beat while it runs, and send the client the child's
    reply (or why there is none), logged first: a client that has its answer finds it logged.

    A reply is sent as soon as the child has written it, before the child has finished
    exiting (the teardown of its memory is nobody's wait).
    """
    started = time.time()
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        # Nothing of the parent's but the standard streams, as in a fresh process: no copy of
        # the client's connection (the parent's death must end it), the socket or the lock.
        os.closerange(3, writable)
        os.closerange(writable + 1, os.sysconf("SC_OPEN_MAX"))
        _child(request, writable)
    os.close(writable)
    result = b""
    watched: list[int | socket.socket] = [readable, conn]
    try:
        while True:
            ready, _, _ = select.select(watched, [], [], warm.BEAT)
            if readable in ready:
                chunk = os.read(readable, 1 << 16)
                if not chunk:
                    break
                result += chunk
            elif conn in watched and (conn in ready or (not ready and not _send(conn, {}))):
                # The client went away (Ctrl-C): interrupt the run as Ctrl-C would have.
                os.kill(pid, signal.SIGINT)
                watched = [readable]
        os.close(readable)
        try:
            reply: dict[str, object] = json.loads(result)
        except ValueError:
            _, status = os.waitpid(pid, 0)
            reply = {"failed": f"the warm generator's run ended without a result ({_how(status)})"}
        outcome = f"exit {reply['exit']}" if "exit" in reply else str(reply.get("failed"))
        ended = time.time()
        _log(
            # The command alone: the options may hold a database URL with its password.
            f"ran {request.argv[0] if request.argv else ''!r} in {ended - started:.3f} s "
            f"[{started:.6f}, {ended:.6f}]: {outcome}"
        )
        _send(conn, reply)
    finally:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _child(request: _Run, result: int) -> None:
    """Run ``codegen ARGV`` as the client would have, and write the reply to ``result``."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    output: list[list[object]] = []
    code = 1
    try:
        os.umask(request.umask)
        os.chdir(request.cwd)
        os.environ.clear()
        os.environ.update(request.env)
        sys.stdout = _Recorded(output, 1)
        sys.stderr = _Recorded(output, 2)
        code = _exit_code(request.argv)
    except BaseException:  # a failure of ours: reported as an uncaught one would be
        sys.stderr = _Recorded(output, 2)
        traceback.print_exc()
    finally:
        data = json.dumps({"exit": code, "output": output}).encode()
        with contextlib.suppress(OSError), os.fdopen(result, "wb") as handle:
            handle.write(data)
        os._exit(0)  # no atexit handler or collection of the parent's: it is still running


def _exit_code(argv: list[str]) -> int:
    """``codegen ARGV``'s status as the client would have run it itself (it found the
    fingerprint stale already); a SystemExit's, or 1 for an uncaught exception (its traceback
    printed)."""
    from connlog.codegen import cli, generate

    status: int | str | None
    try:
        status = generate.run(cli.arguments(argv))
    except SystemExit as exit:
        status = exit.code
    except Exception:
        traceback.print_exc()
        return 1
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    print(status, file=sys.stderr)
    return 1


class _Recorded(io.TextIOBase):
    """A stream whose writes are kept, in order with the other stream's."""

    def __init__(self, output: list[list[object]], stream: int) -> None:
        self._output = output
        self._stream = stream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._output and self._output[-1][0] == self._stream:
            self._output[-1][1] = f"{self._output[-1][1]}{text}"
        else:
            self._output.append([self._stream, text])
        return len(text)


def _log(line: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid {os.getpid()}: {line}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
