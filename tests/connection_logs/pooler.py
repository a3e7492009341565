"""A real pgbouncer in transaction mode in front of the test server, for the pooler tests.

The binary is the Debian package's; when it is missing, root installs it (``apt-get install -y
pgbouncer``) and anyone else gets an error saying what to install. pgbouncer refuses to run as
root, so as root it runs as the ``postgres`` user, like the embedded server.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from psycopg.conninfo import conninfo_to_dict, make_conninfo


def through(port: int, url: str) -> str:
    """``url`` (a database of the server behind the pooler) reached through the pooler."""
    return make_conninfo(url, host="127.0.0.1", port=port)


SERVICE_ACCOUNT: Final = "postgres"
INSTALL_HINT: Final = (
    "the pooler tests need pgbouncer: install it (Debian/Ubuntu: apt-get install pgbouncer), "
    "or run the tests as root, which installs it"
)


class PoolerUnavailable(RuntimeError):
    """pgbouncer is missing and cannot be installed here, or did not start."""


def find_pgbouncer() -> Path:
    """The pgbouncer binary, installed first with apt-get when missing and we are root."""
    found = _installed()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise PoolerUnavailable(f"pgbouncer is not installed; {INSTALL_HINT}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "pgbouncer"]
    # On a fresh machine the package lists may be empty: update them once and retry.
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PoolerUnavailable(
                f"apt-get install -y pgbouncer failed:\n{result.stdout}{result.stderr}"
            )
    found = _installed()
    if found is None:
        raise PoolerUnavailable(
            f"apt-get installed pgbouncer, but it is not on PATH; {INSTALL_HINT}"
        )
    return found


def _no_prepared_statement_support(binary: Path) -> str:
    """pgbouncer 1.21+ can track prepared statements (on by default from 1.24): switched off,
    so the tests see what docs/operations.md warns about, the classic transaction pooler."""
    shown = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"(\d+)\.(\d+)", shown)
    version = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    return "max_prepared_statements = 0\n" if version >= (1, 21) else ""


def _installed() -> Path | None:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    return None if found is None else Path(found)


@contextmanager
def transaction_pooler(server_url: str, *, pool_size: int = 4) -> Iterator[int]:
    """Run pgbouncer (pool_mode = transaction) in front of ``server_url``'s server; yields the
    port it listens on (127.0.0.1), where any database of that server is reached by its name.

    Server connections are handed out round robin, so consecutive transactions of one client
    land on different server connections as soon as the pool holds more than one: what a busy
    pooler does, made certain.
    """
    binary = find_pgbouncer()
    server = conninfo_to_dict(server_url)
    target = " ".join(
        f"{key}={server[key]}" for key in ("host", "port", "user", "password") if server.get(key)
    )
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="connlog-pgbouncer-"))
    config = workdir / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {pool_size}
server_round_robin = 1
max_client_conn = 200
ignore_startup_parameters = extra_float_digits, options
{_no_prepared_statement_support(binary)}logfile = {workdir / "pgbouncer.log"}
pidfile = {workdir / "pgbouncer.pid"}
"""
    )
    command = [str(binary), str(config)]
    if os.geteuid() == 0:
        for path in (workdir, config):
            shutil.chown(path, SERVICE_ACCOUNT, SERVICE_ACCOUNT)
        command = ["runuser", "-u", SERVICE_ACCOUNT, "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, workdir)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            log = workdir / "pgbouncer.log"
            raise PoolerUnavailable(
                f"pgbouncer exited with {process.returncode}:\n{output}"
                f"{log.read_text() if log.exists() else ''}"
            )
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise PoolerUnavailable(f"pgbouncer did not listen on port {port} within 15 s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
