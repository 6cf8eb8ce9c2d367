"""A PostgreSQL server for the tests and benchmarks: Debian's `initdb` and `pg_ctl` run a
throwaway cluster on a free loopback port, in a temporary folder, as an unprivileged user
when started by root (the server refuses to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"  # the server runs as this user when started by root
PASSWORD = "jnft-test"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here: the message says what to install."""


def server_binaries() -> Path:
    """The folder of `initdb` and `pg_ctl`: on the PATH, else Debian's versioned folder."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresUnavailable("no PostgreSQL server binaries (apt-get install -y postgresql)")
    return Path(found[-1]).parent


def postgis_installed() -> bool:
    """Whether the PostGIS extension can be created (its control file is installed)."""
    return bool(glob.glob("/usr/share/postgresql/*/extension/postgis.control"))


def as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVER_USER, "--", *command]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_folder(parent: Path | None) -> Path:
    """A new folder the server's user owns (a root-owned 0700 parent, such as pytest's
    tmp_path, would lock it out: the default is the system's temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="jnft-pg-", dir=parent))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError:
            shutil.rmtree(folder)
            raise PostgresUnavailable(
                f"running as root and no `{SERVER_USER}` user to run the server as"
            ) from None
        os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


def _create_database(connection: dict, dbname: str) -> None:
    import psycopg2

    con = psycopg2.connect(**{**connection, "dbname": "postgres"})
    try:
        con.autocommit = True  # CREATE DATABASE runs outside a transaction
        with con.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        con.close()


@contextmanager
def running_postgres(
    parent: Path | None = None,
    user: str = "jnft",
    dbname: str = "jnft",
    settings: dict[str, str] | None = None,
) -> Iterator[dict]:
    """A running server holding an empty database `dbname` owned by the superuser `user`
    (password-authenticated over TCP); yields host, port, user, password, dbname and a
    libpq `dsn`. `settings` are server parameters (`shared_buffers`, `work_mem`…)."""
    binaries = server_binaries()
    folder = _server_folder(parent)
    data = folder / "data"
    (folder / "password").write_text(PASSWORD, encoding="utf-8")
    run = dict(check=True, capture_output=True, text=True)
    pg_ctl = str(binaries / "pg_ctl")
    initialized = False
    try:
        try:
            subprocess.run(
                as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", user,
                                "--pwfile", str(folder / "password"), "--auth-local=trust",
                                "--auth-host=scram-sha-256"]), **run,
            )  # fmt: skip
            initialized = True  # from here on a server may run (even when `start` fails)
            port = free_port()
            options = " ".join(
                f"-c {name}={value}"
                for name, value in {
                    "listen_addresses": "127.0.0.1",
                    "port": str(port),
                    "unix_socket_directories": str(folder),
                    **(settings or {}),
                }.items()
            )
            subprocess.run(
                as_server_user([pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-o",
                                options, "-w", "start"]), **run,
            )  # fmt: skip
        except subprocess.CalledProcessError as error:
            log = folder / "log"
            details = log.read_text()[-2000:] if log.exists() else error.stderr
            raise RuntimeError(f"PostgreSQL did not start: {details}") from error
        connection = dict(host="127.0.0.1", port=port, user=user, password=PASSWORD)
        _create_database(connection, dbname)
        dsn = f"host=127.0.0.1 port={port} user={user} password={PASSWORD} dbname={dbname}"
        yield {**connection, "dbname": dbname, "dsn": dsn}
    finally:
        if initialized:
            subprocess.run(
                as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )
        shutil.rmtree(folder, ignore_errors=True)
