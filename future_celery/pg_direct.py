"""Statements sent past Django's cursor wrapper, for the worker's per-job path (the claim and
the completion) and the bulk insert: on PostgreSQL they bind parameters on the server and,
in autocommit, go straight to libpq. Elsewhere they use Django's own cursor.

This module depends on APIs that neither Django nor psycopg documents as public. Each is
listed by private_apis(), which tests/unit/test_private_apis.py checks, so that an upgrade that
changes one fails with a message naming it:

- Django: ``BaseDatabaseWrapper._prepare_cursor`` (wraps a cursor as Django's own), and the
  undocumented wrapper methods ``close_if_health_check_failed``, ``ensure_connection``,
  ``validate_no_broken_transaction`` and ``wrap_database_errors``.
- psycopg: ``psycopg.adapt.Transformer`` (``dump_sequence``, ``set_pgresult``, ``load_row``)
  and the context it reads (an object with ``adapters`` and ``connection``), and
  ``psycopg.errors.error_from_result``. (``psycopg.pq``'s libpq calls are documented.)"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from .db import default_connection


@contextlib.contextmanager
def hot_cursor() -> Iterator[Any]:
    """A cursor of the default connection for statements run once per job by the worker.

    On PostgreSQL it binds parameters on the server, so psycopg prepares a statement after
    the connection's ``prepare_threshold`` runs (5 by default; OPTIONS {"prepare_threshold":
    None} turns that off, e.g. behind PgBouncer in transaction mode): no client-side quoting
    and no planning per job. Elsewhere it is Django's own cursor. Either way the connection is
    checked and opened as for any query, and errors arrive as Django's database errors. (Its
    statements bypass Django's cursor wrapper, so they are not in connection.queries.)"""
    conn = default_connection()
    if conn.vendor != "postgresql":
        with conn.cursor() as cursor:
            yield cursor
        return
    raw = _server_binding_cursor(conn)
    conn.validate_no_broken_transaction()
    with conn.wrap_database_errors, raw as cursor:
        yield cursor


def binding_cursor(conn: Any) -> Any:
    """Django's cursor of PostgreSQL connection ``conn`` (execute wrappers, query logging,
    error wrapping), around a psycopg cursor that binds the parameters on the server, as
    hot_cursor()'s does: nothing is quoted client-side, and psycopg prepares the statement
    after the connection's ``prepare_threshold`` runs. For statements of user-facing calls,
    which code watching the connection must see."""
    return conn._prepare_cursor(_server_binding_cursor(conn))


def _server_binding_cursor(conn: Any) -> Any:
    """A psycopg cursor (server-side binding) of ``conn``, checked and opened as Django
    opens a connection for any cursor."""
    import psycopg

    _open(conn)
    with conn.wrap_database_errors:
        return psycopg.Cursor(conn.connection)


def _open(conn: Any) -> None:
    """Check and open ``conn`` as Django does before any cursor."""
    conn.close_if_health_check_failed()
    conn.ensure_connection()


def execute_hot(sql: str, params: Sequence[Any], returning: bool = False) -> tuple[int, Any]:
    """Run one statement for the worker's per-job path (the claim, the completion): the
    number of rows it affected, and with ``returning`` the first row it returned (or None).

    On PostgreSQL in autocommit (the worker, outside a job's transaction) it goes straight
    to libpq (see _Statements), skipping a psycopg cursor's Python code. Inside
    a transaction it goes through a hot_cursor(), which lets psycopg open the transaction."""
    conn = default_connection()
    if conn.vendor == "postgresql":
        _open(conn)
        raw = conn.connection
        if raw.autocommit and raw.pgconn.transaction_status == _IDLE:
            with conn.wrap_database_errors:
                return _statements(conn).execute(sql, params, returning)
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount, cursor.fetchone() if returning else None


# libpq's codes, as psycopg.pq names them (TransactionStatus.IDLE, ExecStatus.COMMAND_OK,
# ConnStatus.OK), without importing psycopg where SQLite alone is used.
_IDLE, _COMMAND_OK, _CONNECTION_OK = 0, 1, 0


def _statements(conn: Any) -> _Statements:
    """The _Statements of ``conn``'s current libpq connection (a reconnect gets new ones)."""
    statements = getattr(conn, "_future_celery_statements", None)
    if statements is None or statements.pgconn is not conn.connection.pgconn:
        statements = conn._future_celery_statements = _Statements(conn.connection)
    return statements


class _Statements:
    """Statements run on a libpq connection directly, parameters in text and results in
    binary, with psycopg's own adapters (C code) for both; prepared on the server once per
    connection unless the connection's ``prepare_threshold`` is None (a transaction-mode
    pooler), in which case each is sent with its parameters, unprepared.

    A psycopg cursor spends most of a statement's CPU time in its Python code around the
    same libpq call (query conversion, the prepared statement cache, the result set,
    fetching; figures in docs/performance.md); per job the worker runs two. Only for
    autocommit statements:
    psycopg tracks no state of those, and libpq reports the connection's state to it as ever.
    Query logging and execute wrappers do not see them, as with hot_cursor()."""

    def __init__(self, raw: Any) -> None:
        from psycopg.adapt import AdaptersMap, Transformer

        self.pgconn = raw.pgconn
        self.prepare = raw.prepare_threshold is not None
        self.encoding = raw.info.encoding
        self.names: dict[str, bytes] = {}
        adapters = AdaptersMap(raw.adapters)
        for name in ("json", "jsonb"):  # as Django's text loader: the field decodes the text
            adapters.register_loader(name, _json_text_loader(name))
        self.transformer = Transformer(_AdaptContext(adapters, raw))

    def execute(self, sql: str, params: Sequence[Any], returning: bool) -> tuple[int, Any]:
        import psycopg
        from psycopg.adapt import PyFormat
        from psycopg.pq import ExecStatus, Format

        values = self.transformer.dump_sequence(params, [PyFormat.TEXT] * len(params))
        for attempt in (1, 2):
            if self.prepare:
                result = self.pgconn.exec_prepared(
                    self._name(sql), values, result_format=Format.BINARY
                )
            else:
                result = self.pgconn.exec_params(
                    _numbered(sql).encode(self.encoding), values, result_format=Format.BINARY
                )
            if result.status in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK):
                break
            error = self._error(result)
            if attempt == 1 and isinstance(error, psycopg.errors.InvalidSqlStatementName):
                self.names.clear()  # the server forgot them (DISCARD ALL): prepare anew
                continue
            raise error
        rowcount = result.command_tuples or 0
        if not returning or not result.ntuples:
            return rowcount, None
        self.transformer.set_pgresult(result, format=Format.BINARY)
        return rowcount, self.transformer.load_row(0, tuple)

    def _name(self, sql: str) -> bytes:
        name = self.names.get(sql)
        if name is None:
            name = f"future_celery_{len(self.names)}".encode()
            result = self.pgconn.prepare(name, _numbered(sql).encode(self.encoding))
            if result.status != _COMMAND_OK:
                raise self._error(result)
            self.names[sql] = name
        return name

    def _error(self, result: Any) -> Exception:
        """psycopg's exception for a failed statement: an OperationalError when the
        connection is gone (as psycopg raises, so that Django and reconnecting() see it)."""
        import psycopg

        if self.pgconn.status != _CONNECTION_OK:  # the server or the network is gone
            return psycopg.OperationalError(
                self.pgconn.error_message.decode(self.encoding, "replace").strip()
                or "the connection is broken"
            )
        return psycopg.errors.error_from_result(result, encoding=self.encoding)


class _AdaptContext:
    """What psycopg's Transformer reads of its context: the adapters and the connection."""

    def __init__(self, adapters: Any, connection: Any) -> None:
        self.adapters, self.connection = adapters, connection


@functools.cache
def _json_text_loader(type_name: str) -> type:
    """A binary loader of json/jsonb that returns the JSON text (jsonb's binary form is a
    version byte, then the text; json's is the text)."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    skip = 1 if type_name == "jsonb" else 0

    class JsonTextBinaryLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> str:
            return bytes(data[skip:]).decode()

    return JsonTextBinaryLoader


@functools.cache
def _numbered(sql: str) -> str:
    """A statement with %s placeholders (and %% for a percent sign) in libpq's $1, $2... form."""
    parts = sql.split("%%")
    count = 0
    for i, part in enumerate(parts):
        pieces = part.split("%s")
        numbered = [pieces[0]]
        for piece in pieces[1:]:
            count += 1
            numbered.append(f"${count}{piece}")
        parts[i] = "".join(numbered)
    return "%".join(parts)


def private_apis() -> list[tuple[str, Any, tuple[str, ...] | None]]:
    """Each private API this module uses: its name, the object, and the parameter names it
    is called with (each must be in its signature; None where there is none to read)."""
    import psycopg
    from django.db.backends.base.base import BaseDatabaseWrapper
    from psycopg.adapt import Transformer

    return [
        (
            "django BaseDatabaseWrapper._prepare_cursor",
            # private API, listed on purpose (the stubs leave it out)
            BaseDatabaseWrapper._prepare_cursor,  # type: ignore[attr-defined]
            ("self", "cursor"),
        ),
        (
            "django BaseDatabaseWrapper.close_if_health_check_failed",
            BaseDatabaseWrapper.close_if_health_check_failed,
            ("self",),
        ),
        (
            "django BaseDatabaseWrapper.ensure_connection",
            BaseDatabaseWrapper.ensure_connection,
            None,  # called without arguments (pytest-django wraps it in tests)
        ),
        (
            "django BaseDatabaseWrapper.validate_no_broken_transaction",
            BaseDatabaseWrapper.validate_no_broken_transaction,
            ("self",),
        ),
        (
            "django BaseDatabaseWrapper.wrap_database_errors",
            BaseDatabaseWrapper.__dict__["wrap_database_errors"],
            None,
        ),
        ("psycopg.adapt.Transformer", Transformer, None),
        (
            "psycopg.adapt.Transformer.dump_sequence",
            Transformer.dump_sequence,
            ("self", "params", "formats"),
        ),
        (
            "psycopg.adapt.Transformer.set_pgresult",
            Transformer.set_pgresult,
            ("self", "result", "set_loaders", "format"),
        ),
        ("psycopg.adapt.Transformer.load_row", Transformer.load_row, ("self", "row", "make_row")),
        (
            "psycopg.errors.error_from_result",
            psycopg.errors.error_from_result,
            ("result", "encoding"),
        ),
    ]
