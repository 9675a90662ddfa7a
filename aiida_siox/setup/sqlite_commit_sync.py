"""Commits to a write-ahead-logged SQLite profile without an fsync each (``PRAGMA synchronous=NORMAL``).

The engine commits about a thousand times for one XANES site of the demo (node stores, process
checkpoints, job-state updates). Under SQLite's default ``synchronous=FULL`` each commit waits for an
fsync of the write-ahead log: 3.3 ms per commit measured on this machine's disk, so seconds per site
in which the engine holds up the next job. With ``NORMAL`` in WAL mode the log is synced only at
checkpoints. SQLite's guarantee (https://sqlite.org/pragma.html#pragma_synchronous): the database
stays consistent; a crash of a process (a killed daemon) loses nothing; a power loss or OS crash
may roll back the last commits. For aiida that means resuming from an earlier checkpoint, at worst
running a job again; nothing finished is corrupted. A database on the rollback journal (a network
filesystem: :mod:`aiida_siox.setup.sqlite_journal`) keeps ``FULL``, where ``NORMAL`` could corrupt it.

``synchronous`` is a setting of each connection, not of the file, so it is set on every SQLite
connection of a process that imports ``aiida_siox`` (a daemon worker does as soon as it runs one of
our processes), when the pool hands it out for the first time. ``SIOX_SQLITE_SYNCHRONOUS=FULL``
in the environment keeps SQLite's default.
"""

from __future__ import annotations

import os
import sqlite3

#: Set on a pool record once its connection has been looked at.
_MARK = 'siox_commit_sync'
#: The environment variable that chooses the level (NORMAL unless it says otherwise).
ENVIRONMENT_VARIABLE = 'SIOX_SQLITE_SYNCHRONOUS'
LEVELS = ('OFF', 'NORMAL', 'FULL', 'EXTRA')


def wanted_level(environment: dict[str, str] | None = None) -> str:
    """The level to set on WAL connections: ``NORMAL``, or the environment variable's (one of :data:`LEVELS`)."""
    value = (os.environ if environment is None else environment).get(ENVIRONMENT_VARIABLE, 'NORMAL').strip().upper()
    if value not in LEVELS:
        raise ValueError(f'{ENVIRONMENT_VARIABLE}={value!r}: expected one of {", ".join(LEVELS)}')
    return value


def relax_commit_sync(connection: sqlite3.Connection, level: str = 'NORMAL') -> str:
    """Set ``synchronous`` to ``level`` on ``connection`` if its database is in WAL mode; return the level now in force.

    Must run outside a transaction (SQLite refuses to change the level inside one).
    """
    mode = connection.execute('PRAGMA journal_mode').fetchone()[0].lower()
    if mode == 'wal':
        connection.execute(f'PRAGMA synchronous={level}')
    value = connection.execute('PRAGMA synchronous').fetchone()[0]
    return LEVELS[value] if 0 <= value < len(LEVELS) else str(value)


def _on_checkout(dbapi_connection, connection_record, _connection_proxy) -> None:
    if connection_record.info.get(_MARK) or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    connection_record.info[_MARK] = True
    if dbapi_connection.in_transaction:  # a connection handed out mid-transaction: leave it as it is
        return
    relax_commit_sync(dbapi_connection, wanted_level())


def install() -> None:
    """Apply :func:`relax_commit_sync` to every SQLite connection of this process as the pool hands it out.

    A listener on SQLAlchemy's ``Pool`` class reaches the pools that exist already too (aiida's storage
    may have connected before this package was imported). Idempotent.
    """
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if not event.contains(Pool, 'checkout', _on_checkout):
        event.listen(Pool, 'checkout', _on_checkout)
