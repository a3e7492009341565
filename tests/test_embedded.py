"""The embedded server: started with no configuration, reused, stopped; root-safe."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from connlog.codegen.database import embedded


@pytest.fixture
def cluster() -> Iterator[embedded.Cluster]:
    with embedded.temporary_cluster(prefix="connlog-embedded-test-") as place:
        yield place


def _server_version(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.info.server_version


def test_starts_reuses_and_stops(
    cluster: embedded.Cluster,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As the checkout's own server (the one that outlives a command): CONNLOG_PG_DIR points there.
    monkeypatch.setenv("CONNLOG_PG_DIR", str(cluster.base))
    assert embedded.default_cluster() == cluster
    url = embedded.ensure_running()
    assert _server_version(url) > 0
    started = capsys.readouterr().err.splitlines()
    assert len(started) == 1 and started[0].startswith("started the embedded PostgreSQL on ")
    assert "keeps running" in started[0]
    assert embedded.ensure_running() == url, "a running cluster is reused"
    assert capsys.readouterr().err == "", "reusing it says nothing"
    if os.geteuid() == 0:
        assert (cluster.data / "PG_VERSION").owner() == "postgres", "root hands it to postgres"
    assert embedded.stop(cluster) is True
    assert embedded.stop(cluster) is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_restarts_an_existing_cluster_after_a_stop(cluster: embedded.Cluster) -> None:
    url = embedded.ensure_running(cluster)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE kept")
    embedded.stop(cluster)
    url = embedded.ensure_running(cluster)
    with psycopg.connect(url) as conn:
        names = {name for (name,) in conn.execute("SELECT datname FROM pg_database")}
    assert "kept" in names


def test_the_pypi_packaged_server_works_where_no_binaries_are_installed(
    cluster: embedded.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.origin is not None
    packaged = Path(spec.origin).parent / "pginstall" / "bin"
    assert packaged in list(embedded._bindir_candidates()), "it is the last resort searched"
    # Run a copy beside the cluster: as root the server runs as ``postgres``, which may not be
    # able to reach a virtual environment inside this checkout (say, under /root).
    # The wheel's binaries find their libraries beside the package (``pgserver.libs``).
    site_packages = packaged.parent.parent.parent
    copy = cluster.base.parent / "site-packages"
    for name in ("pgserver", "pgserver.libs"):
        shutil.copytree(site_packages / name, copy / name, symlinks=True)
    for path in (copy, *copy.rglob("*")):
        path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
    bindir = copy / "pgserver" / "pginstall" / "bin"
    monkeypatch.setenv("PG_BINDIR", str(bindir))
    assert embedded.find_bindir() == bindir
    assert _server_version(embedded.ensure_running(cluster)) >= 160000, "pgserver ships 16"


def test_missing_binaries_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_bindir_candidates", lambda: iter([Path("/nonexistent")]))
    with pytest.raises(embedded.EmbeddedServerError, match="pgserver"):
        embedded.find_bindir()


def test_the_checkouts_cluster_lives_in_memory_where_there_is_room(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CONNLOG_PG_DIR", raising=False)
    roomy = tmp_path / "shm"
    roomy.mkdir()
    monkeypatch.setattr(embedded, "_MEMORY_BACKED", roomy)
    assert embedded.default_cluster().base.parent == roomy
    # Too small (a container's 64 MB /dev/shm), or missing: the temporary directory.
    monkeypatch.setattr(embedded, "_MEMORY_NEEDED", 2**62)
    assert embedded.default_cluster().base.parent == Path(tempfile.gettempdir())
    monkeypatch.setattr(embedded, "_MEMORY_BACKED", tmp_path / "missing")
    assert embedded.default_cluster().base.parent == Path(tempfile.gettempdir())
