"""A real, throwaway PostgreSQL 15 server for tests (pipelines/pg_server.py), as a pytest fixture.

`postgres_server` is a session-scoped fixture; import it into a test module (`from tests.postgres import
postgres_server`). Without the server binaries the tests that use it skip, unless `LAKEHOUSE_POSTGRES_TESTS=required`
(as CI sets it), where they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from pipelines.pg_server import VERSION, PostgresDsn, server_binaries, throwaway_postgres

__all__ = ["REQUIRED", "PostgresDsn", "postgres_fixture", "postgres_server"]

REQUIRED = os.environ.get("LAKEHOUSE_POSTGRES_TESTS") == "required"


def postgres_fixture(scope: str = "session") -> Callable[..., PostgresDsn]:
    """A fixture (at `scope`) that yields a running server's PostgresDsn, or skips when PostgreSQL 15 is absent."""

    @pytest.fixture(scope=scope)
    def server() -> Iterator[PostgresDsn]:
        bin_dir = server_binaries()
        if bin_dir is None:
            message = f"needs PostgreSQL {VERSION}'s server binaries (Debian's postgresql package; .ci/run installs it)"
            if REQUIRED:
                pytest.fail(message + ", and LAKEHOUSE_POSTGRES_TESTS=required")
            pytest.skip(message)
        with throwaway_postgres(bin_dir) as dsn:
            yield dsn

    return server


postgres_server = postgres_fixture("session")
