"""A PostgreSQL server for the thread-store tests, on 127.0.0.1: CI's, or one started here and stopped at the end.

`.ci/run` starts one server for the whole run and exports its URL in `WORKFLOWS_TEST_POSTGRES_URL`; without that
variable, the test session starts its own from the PostgreSQL server binaries (`initdb`, `pg_ctl`) when they are
installed (each xdist worker its own, in about 2 s), and the tests are skipped when they are not. Every test gets
a database of its own, dropped after it. The server is for tests only: fsync is off, so it is fast and would lose
data in a crash.
"""

import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict

URL_VARIABLE = "WORKFLOWS_TEST_POSTGRES_URL"
"""A server's URL for a role that may create databases, e.g. postgresql://workflows:PW@127.0.0.1:5433/postgres."""
USER = "workflows"
STEP_TIMEOUT = 60
"""Most seconds initdb, a start or a stop may take before the test session gives up on the server."""
TEST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "shared_buffers=16MB")
"""A throwaway server: durability off makes creating and dropping a database per test cheap (about 20 ms)."""


class Unavailable(Exception):
    """No server can be had here: the reason says why (shown as the tests' skip reason)."""


def binaries() -> Path | None:
    """Return the folder holding `initdb` and `pg_ctl`: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A PostgreSQL server started in a temporary folder, listening on 127.0.0.1 only (and a socket in the folder).

    The PostgreSQL binaries refuse to run as root; as root they run as the `postgres` user. Connections over TCP
    need the password (scram-sha-256), as a real deployment's would.
    """

    def __init__(self, bin_dir: Path) -> None:
        """Prepare (not start) a server run by the binaries in `bin_dir`."""
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="workflows-pg-"))
        self.password = secrets.token_urlsafe(16)
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                shutil.chown(self.folder, user="postgres")
            except LookupError:
                shutil.rmtree(self.folder)
                raise Unavailable("running as root and there is no `postgres` user to run PostgreSQL as") from None

    @property
    def url(self) -> str:
        """The URL of the server's `postgres` database, as the superuser."""
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if self.as_postgres:
            argv = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=STEP_TIMEOUT, stdin=subprocess.DEVNULL)

    def start(self) -> None:
        """Create the cluster and start the server; raise Unavailable (with the server's log) if it will not."""
        data, log = self.folder / "data", self.folder / "log"
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        if self.as_postgres:
            shutil.chown(password_file, user="postgres")
        init = self._run(
            "initdb", "-D", str(data), "-U", USER, f"--pwfile={password_file}", "--auth-host=scram-sha-256",
            "--auth-local=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        if init.returncode != 0:
            raise Unavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
        options = [f"-p {self.port}", f"-k {self.folder}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {setting}" for setting in TEST_SETTINGS]
        started = self._run(
            "pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "30", "-o", " ".join(options), "start"
        )
        if started.returncode != 0:
            logged = log.read_text()[-500:] if log.exists() else started.stderr
            raise Unavailable(f"the PostgreSQL server did not start: {logged.strip()}")

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended) and remove its folder."""
        data = str(self.folder / "data")
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                stopped = self._run("pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "30", "stop")
                if stopped.returncode != 0:
                    self._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def server_url() -> Iterator[str]:
    """Yield an admin URL: CI's server when `WORKFLOWS_TEST_POSTGRES_URL` is set, else a server started here."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    bin_dir = binaries()
    if bin_dir is None:
        raise Unavailable(
            f"no PostgreSQL server: set {URL_VARIABLE} to a server's URL, or install the PostgreSQL server "
            "binaries (initdb, pg_ctl; Debian: apt-get install postgresql)"
        )
    server = Server(bin_dir)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def _url(parts: dict[str, Any]) -> str:
    parts = dict(parts)
    user, password = quote(parts.pop("user", ""), safe=""), quote(parts.pop("password", ""), safe="")
    host, port, name = parts.pop("host", "127.0.0.1"), parts.pop("port", "5432"), parts.pop("dbname", "postgres")
    login = f"{user}:{password}@" if password else f"{user}@" if user else ""
    query = urlencode(parts)
    return f"postgresql://{login}{host}:{port}/{name}" + (f"?{query}" if query else "")


def with_database(url: str, name: str) -> str:
    """Return `url` pointing at database `name` (same server, user and password)."""
    return _url({**conninfo_to_dict(url), "dbname": name})


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    """Create a database of its own for one test, yield its URL, and drop it (with any session still open)."""
    name = f"workflows_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def contents(url: str) -> bytes:
    """Return every value of every table of the database's public schema, bytes as stored, the rest as text.

    Searching this for a secret searches what the store holds, whatever column or encoding it is kept in.
    """
    dumped = []
    with psycopg.connect(url, connect_timeout=10) as connection:
        tables = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        for (table,) in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                dumped += [value if isinstance(value, bytes) else str(value).encode() for value in row]
    return b"\n".join(dumped)


def unused_url(url: str) -> str:
    """Return `url` pointed at a port of 127.0.0.1 where nothing listens (a refused connection)."""
    return _url({**conninfo_to_dict(url), "host": "127.0.0.1", "port": str(free_port())})


def with_password(url: str, password: str) -> str:
    """Return `url` with another password (same server, user and database)."""
    return _url({**conninfo_to_dict(url), "password": password})


def with_login(url: str, user: str, password: str) -> str:
    """Return `url` logging in as another role (same server and database)."""
    return _url({**conninfo_to_dict(url), "user": user, "password": password})


@contextmanager
def login_role(url: str, password: str, *grants: str) -> Iterator[str]:
    """Create a role that may log in to `url`'s database, run `grants` (each with `{role}`), yield its URL, drop it."""
    role = f"role_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        for grant in grants:
            admin.execute(grant.format(role=role))
    try:
        yield with_login(url, role, password)
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
