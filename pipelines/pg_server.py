"""A throwaway PostgreSQL 15 server: its own temporary folder, 127.0.0.1 and a free port, gone when the block ends.

The tests (tests/postgres.py) and the export bench (pipelines/bench_export.py) both need a real server they can
start and discard; neither may touch a database anyone else uses.

The superuser's password is random; it is written to files (initdb's `--pwfile`, then a libpq passfile), never put
on a command line, so `ps` never shows it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

VERSION = "15"
# Debian keeps the server binaries (initdb, pg_ctl, postgres) off PATH, in a folder per major version.
DEBIAN_BIN = Path(f"/usr/lib/postgresql/{VERSION}/bin")
SUPERUSER = "postgres"
OS_USER = "postgres"  # initdb refuses to run as root: when we are root, the server runs as this user
# A throwaway server needs no durability: nothing in it outlives its block.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "listen_addresses": "'127.0.0.1'"}


@dataclass(frozen=True)
class PostgresDsn:
    """Where a running server listens and who may connect; the password is kept out of repr and str."""

    host: str
    port: int
    user: str
    dbname: str
    passfile: Path
    password: str = field(repr=False)

    def __str__(self) -> str:
        return f"postgresql://{quote(self.user, safe='')}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"

    def uri(self, dbname: str | None = None) -> str:
        """A libpq URI that reads the password from the passfile, so the URI itself holds no secret."""
        base = str(self if dbname is None else replace(self, dbname=dbname))
        return f"{base}?passfile={quote(str(self.passfile), safe='/')}"

    def env(self) -> dict[str, str]:
        """libpq's environment for a spawned client (psql, pg_dump): the password only through PGPASSFILE."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGDATABASE": self.dbname,
            "PGPASSFILE": str(self.passfile),
        }


def server_binaries() -> Path | None:
    """The folder holding PostgreSQL 15's initdb and pg_ctl, or None when they are not installed."""
    if (DEBIAN_BIN / "pg_ctl").exists() and (DEBIAN_BIN / "initdb").exists():
        return DEBIAN_BIN
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and (Path(pg_ctl).resolve().parent / "initdb").exists():
        return Path(pg_ctl).resolve().parent
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_postgres(bin_dir: Path) -> Iterator[PostgresDsn]:
    """Run a fresh cluster in a new temporary folder; stop it and delete the folder on the way out, whatever happens."""
    as_root = os.geteuid() == 0
    # the whole identity: with only the uid changed, the server would keep root's group and write root-group files
    identity = {"user": OS_USER, "group": OS_USER, "extra_groups": []} if as_root else {}
    root = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    data = root / "data"
    # a caller's PGDATA, PGPORT or PGPASSWORD must not reach the server's commands
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        return subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=False, **identity)

    try:
        if as_root:
            shutil.chown(root, OS_USER, OS_USER)
        password = secrets.token_urlsafe(24)
        pwfile = root / "pwfile"
        _write_private(pwfile, password + "\n", owner=OS_USER if as_root else None)
        init = run(bin_dir / "initdb", "--no-sync", "-D", data, "-U", SUPERUSER, f"--pwfile={pwfile}",
                   "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C")  # fmt: skip
        pwfile.unlink()
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {_tail(init.stderr or init.stdout)}")
        settings = {**SETTINGS, "unix_socket_directories": f"'{root}'"}  # no socket in a shared /tmp or /run
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        port = _start(run, bin_dir, data, root / "server.log")
        passfile = root / "passfile"
        _write_private(passfile, f"127.0.0.1:{port}:*:{SUPERUSER}:{password}\n", owner=None)  # read by this process
        yield PostgresDsn("127.0.0.1", port, SUPERUSER, "postgres", passfile, password)
    finally:
        if (data / "postmaster.pid").exists():  # also a server that pg_ctl gave up waiting for
            run(bin_dir / "pg_ctl", "stop", "-D", data, "-m", "immediate", "-w")
        shutil.rmtree(root, ignore_errors=True)


def _start(run: Callable[..., subprocess.CompletedProcess[str]], bin_dir: Path, data: Path, log: Path) -> int:
    """Start on a free port; another process may take the port between our look and the server's bind, so retry."""
    for _ in range(3):
        port = free_port()
        started = run(bin_dir / "pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", log, "-o", f"-p {port}")
        if started.returncode == 0:
            return port
        server_log = log.read_text(errors="replace") if log.exists() else ""
        if "could not bind" not in server_log and "Address already in use" not in server_log:
            break
    raise RuntimeError(f"pg_ctl start failed: {_tail(started.stderr + server_log)}")


def _write_private(path: Path, text: str, owner: str | None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    if owner:
        shutil.chown(path, owner, owner)


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-lines:])
