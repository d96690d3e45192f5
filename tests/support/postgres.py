"""A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary folder, one server per
test session listening only on a Unix socket in that folder, a fresh database per test.

PostgreSQL refuses to run as root, so as root the cluster belongs to the system user `pgtest`
(created if absent; `nobody` where it cannot be); as anyone else it is theirs. The binaries are found in
/usr/lib/postgresql/<version>/bin (Debian's package puts them there, not on PATH), else on PATH.
Where none is installed, `find_binaries` returns None and the PostgreSQL tests skip with a reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER = "pgtest"
PORT = 5432  # only names the socket file: the server listens on no TCP port at all
PASSWORD_USER, PASSWORD = "clerk", "correct horse battery staple"  # the one user asked for a password


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres (the newest version installed)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "pg_ctl").exists():
        return Path(found).resolve().parent
    return None


def _owner() -> str | None:
    """The user the cluster runs as: `pgtest` when we are root (created if need be), else us."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(USER)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                               USER], capture_output=True)
        if made.returncode != 0:
            return "nobody"  # no useradd here: the one unprivileged user every system has
    return USER


@dataclass
class Cluster:
    bin: Path
    folder: Path
    owner: str | None
    started_in: float = 0.0
    durable: bool = False  # fsync and synchronous commit as a real server (for bench/)
    _numbers = itertools.count(1)

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={PORT}"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner, "--", *argv]
        return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        begun = time.monotonic()
        data = self.folder / "data"
        self.socket_dir.mkdir(parents=True)
        if self.owner is not None:
            uid, gid = pwd.getpwnam(self.owner).pw_uid, pwd.getpwnam(self.owner).pw_gid
            for path in (self.folder, self.socket_dir):
                os.chown(path, uid, gid)
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        (data / "pg_hba.conf").write_text(  # one user signs in with a password; the rest are trusted
            f"local all {PASSWORD_USER} scram-sha-256\nlocal all all trust\n")
        options = f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' -c max_connections=200"
        if not self.durable:  # tests: nothing needs to survive a power cut
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")
        self.started_in = time.monotonic() - begun
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def new_database(self, owner: str = "postgres") -> str:
        """A fresh, empty database (belonging to `owner`); returns its URL, as the superuser."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} OWNER {owner} TEMPLATE template0")
        return self.url(name)


def start_cluster(*, durable: bool = False) -> Cluster | str:
    """A running cluster, or the reason there is none (for pytest.skip)."""
    binaries = find_binaries()
    if binaries is None:
        return "PostgreSQL is not installed (apt-get install postgresql): its tests are skipped"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]'): the PostgreSQL tests are skipped"
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="pipeline-pg-"))
    os.chmod(folder, 0o755)
    cluster = Cluster(binaries, folder, owner, durable=durable)
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"The test PostgreSQL cluster did not start: {exc.stderr or exc.stdout}") from exc
    return cluster
