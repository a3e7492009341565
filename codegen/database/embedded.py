"""A zero-configuration local PostgreSQL for development, tests and codegen.

``ensure_running()`` starts a private server (or reuses the one already
running for this checkout) and returns its URL; ``stop()`` shuts it down.

PostgreSQL refuses to run as root, so when we are root the cluster is owned
by, and the server runs as, the ``postgres`` system user (through
``runuser``). The data lives in /dev/shm (memory) where it has room, else under
the system temporary directory, keyed by the checkout's path and the user, so
clones never share a cluster and the ``postgres`` user can always reach it (a
root home directory is closed).

Server binaries come from ``$PG_BINDIR``, ``pg_config --bindir``, Debian's
``/usr/lib/postgresql/<version>/bin``, ``PATH``, or the ``pgserver`` wheel,
in that order.
"""

from __future__ import annotations

import fcntl
import functools
import glob
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from connlog.codegen.processes import alive

SUPERUSER: Final = "postgres"
DATABASE: Final = "postgres"
_SERVICE_ACCOUNT: Final = "postgres"
_REPO_ROOT: Final = Path(__file__).resolve().parents[2]


class EmbeddedServerError(RuntimeError):
    """The local server could not be found, initialised or started."""


@dataclass(frozen=True, slots=True)
class Cluster:
    """Where one checkout's private cluster lives, and whether it is durable."""

    base: Path
    # A scratch cluster (the default) trades durability for speed: no fsync, no wait for the WAL
    # at commit. A durable one runs as a production server does (fsync, synchronous_commit and
    # full_page_writes on, the defaults), for benchmarks whose figures must include that cost.
    durable: bool = False

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    @property
    def port_file(self) -> Path:
        return self.base / "port"

    @property
    def lock_file(self) -> Path:
        return self.base.with_name(self.base.name + ".lock")


# Memory-backed, where the system has room there: the tests create and drop a few hundred
# databases a run, some 300 files each, and on a busy ext4 /tmp each new file costs the kernel a
# long search for a free inode (measured: 0.3-0.4 s of CPU per CREATE DATABASE, 0.04 s on tmpfs).
_MEMORY_BACKED: Final = Path("/dev/shm")
_MEMORY_NEEDED: Final = 2 * 1024**3  # what a cluster with its kept templates may grow to, and more


def default_cluster() -> Cluster:
    """The cluster for this checkout and this user (``$CONNLOG_PG_DIR`` overrides)."""
    override = os.environ.get("CONNLOG_PG_DIR")
    if override:
        return Cluster(Path(override).resolve())
    key = hashlib.sha256(str(_REPO_ROOT).encode()).hexdigest()[:10]
    return Cluster(_cluster_parent() / f"connlog-pg-{os.getuid()}-{key}")


def _cluster_parent() -> Path:
    """/dev/shm when it is writable with room to spare (a container's is often 64 MB), else the
    system temporary directory."""
    try:
        room = os.statvfs(_MEMORY_BACKED)
    except OSError:
        return Path(tempfile.gettempdir())
    if os.access(_MEMORY_BACKED, os.W_OK | os.X_OK) and room.f_bavail * room.f_frsize >= (
        _MEMORY_NEEDED
    ):
        return _MEMORY_BACKED
    return Path(tempfile.gettempdir())


def url(port: int, database: str = DATABASE) -> str:
    """A libpq URL for the embedded server (trust authentication on loopback)."""
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def ensure_running(cluster: Cluster | None = None) -> str:
    """Start the cluster unless it already runs; return its libpq URL.

    Starting the checkout's own server (``cluster`` left out) says so in one line on stderr: it
    keeps running after the command that needed it (``./dev db stop`` stops it), and nobody
    should find it by surprise.
    """
    # Only this checkout's own server outlives the command: a temporary one is stopped by its
    # context manager, and says nothing.
    announce = cluster is None
    cluster = cluster or default_cluster()
    with _locked(cluster):
        if _is_running(cluster) and cluster.port_file.exists():
            return url(int(cluster.port_file.read_text()))
        bindir = find_bindir()
        if not (cluster.data / "PG_VERSION").exists():
            _initdb(cluster, bindir)
        port = _free_port()
        _start(cluster, bindir, port)
        cluster.port_file.write_text(str(port))
        if announce:
            print(
                f"started the embedded PostgreSQL on 127.0.0.1:{port} ({cluster.data}); "
                "it keeps running (./dev db stop stops it)",
                file=sys.stderr,
            )
        return url(port)


def stop(cluster: Cluster | None = None) -> bool:
    """Stop the cluster if it runs; return whether it was running."""
    cluster = cluster or default_cluster()
    if not (cluster.data / "PG_VERSION").exists():
        return False
    with _locked(cluster):
        if not _is_running(cluster):
            return False
        bindir = find_bindir()
        _run_as_owner([str(bindir / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "-w", "stop"])
        return True


@contextmanager
def temporary_cluster(prefix: str = "connlog-pg-", *, durable: bool = False) -> Generator[Cluster]:
    """A cluster in a new temporary directory, for one job; stopped and removed afterwards.

    The directory is opened for traversal: as root the server runs as ``postgres``,
    which must reach the cluster inside it. ``durable``: see ``Cluster.durable``.
    """
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    parent.chmod(0o755)
    cluster = Cluster(parent / "pg", durable=durable)
    try:
        yield cluster
    finally:
        stop(cluster)
        shutil.rmtree(parent, ignore_errors=True)


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    for candidate in _bindir_candidates():
        if (candidate / "pg_ctl").is_file() and (candidate / "initdb").is_file():
            return candidate
    raise EmbeddedServerError(
        "no PostgreSQL server binaries found (looked at $PG_BINDIR, pg_config, "
        "/usr/lib/postgresql/*/bin and PATH); install the server "
        "(apt-get install postgresql) or the PyPI package 'pgserver', "
        "or set PG_BINDIR"
    )


def _bindir_candidates() -> Iterator[Path]:
    if os.environ.get("PG_BINDIR"):
        yield Path(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        yield from _pg_config_bindir(pg_config)
    by_version = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)
    yield from map(Path, by_version)
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        yield Path(pg_ctl).resolve().parent
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.origin:
        yield Path(spec.origin).parent / "pginstall" / "bin"


@functools.cache
def _pg_config_bindir(pg_config: str) -> tuple[Path, ...]:
    """What ``pg_config --bindir`` says, asked once per process: each dump of a schema looks
    for pg_dump, and the answer does not change."""
    result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
    return (Path(result.stdout.strip()),) if result.returncode == 0 else ()


def _major_version(path: str) -> int:
    version = Path(path).parent.name
    return int(version) if version.isdigit() else 0


@contextmanager
def _locked(cluster: Cluster) -> Generator[None]:
    """Serialise start/stop between processes sharing one cluster."""
    cluster.lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(cluster.lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_as_owner(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a server command as the cluster's owner: ourselves, or ``postgres`` when root."""
    if _as_root():
        command = ["runuser", "-u", _SERVICE_ACCOUNT, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if result.returncode != 0:
        hint = (
            f"\n(as root, the server runs as the {_SERVICE_ACCOUNT!r} user, which must be able to "
            "read the server binaries and every directory above them)"
            if _as_root()
            else ""
        )
        raise EmbeddedServerError(
            f"{' '.join(command)} failed with exit code {result.returncode}:\n"
            f"{result.stdout}{result.stderr}{hint}"
        )
    return result


def _initdb(cluster: Cluster, bindir: Path) -> None:
    cluster.base.mkdir(parents=True, exist_ok=True)
    if _as_root():
        shutil.chown(cluster.base, _SERVICE_ACCOUNT, _SERVICE_ACCOUNT)
    cluster.base.chmod(0o700)
    _run_as_owner(
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )


def _is_running(cluster: Cluster) -> bool:
    """What ``pg_ctl status`` checks: the pid file names a live process.

    Read here rather than by running pg_ctl (as root, through runuser): two
    processes less on every run that needs the server.
    """
    try:
        pid = int((cluster.data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    return alive(pid)


def _start(cluster: Cluster, bindir: Path, port: int) -> None:
    # A scratch cluster: durability is traded for speed, as no data here must survive a crash.
    scratch = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    durability = "" if cluster.durable else scratch
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {cluster.base} {durability}"
        "-c max_connections=200"
    )
    try:
        _run_as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(cluster.data),
                "-l",
                str(cluster.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
    except EmbeddedServerError as exc:
        log_tail = _tail(cluster.log)
        raise EmbeddedServerError(f"{exc}\nserver log ({cluster.log}):\n{log_tail}") from exc


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(unreadable)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
