"""Commits to a write-ahead-logged SQLite database without an fsync each: where, when, and how to keep FULL."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy

from aiida_siox.setup import sqlite_commit_sync
from aiida_siox.setup.sqlite_commit_sync import ENVIRONMENT_VARIABLE, relax_commit_sync, wanted_level
from aiida_siox.setup.sqlite_journal import use_write_ahead_log


def synchronous(connection) -> int:
    return connection.execute('PRAGMA synchronous').fetchone()[0]


def test_a_write_ahead_logged_database_commits_with_synchronous_normal(database):
    use_write_ahead_log(database)
    connection = sqlite3.connect(database)
    try:
        assert synchronous(connection) == 2  # SQLite's default, FULL
        assert relax_commit_sync(connection) == 'NORMAL'
        assert synchronous(connection) == 1
    finally:
        connection.close()


def test_a_database_on_the_rollback_journal_keeps_full(database):
    """In rollback-journal mode NORMAL could corrupt the file on a power loss: it is not set there."""
    connection = sqlite3.connect(database)
    try:
        assert relax_commit_sync(connection) == 'FULL'
        assert synchronous(connection) == 2
    finally:
        connection.close()


def test_the_environment_chooses_the_level_and_a_wrong_one_is_named():
    assert wanted_level({}) == 'NORMAL'
    assert wanted_level({ENVIRONMENT_VARIABLE: ' full '}) == 'FULL'
    with pytest.raises(ValueError, match=f'{ENVIRONMENT_VARIABLE}=.SOMETIMES.: expected one of OFF, NORMAL, FULL, EXTRA'):
        wanted_level({ENVIRONMENT_VARIABLE: 'sometimes'})


def test_a_connection_pooled_before_the_plugin_was_imported_gets_the_level_at_its_next_checkout(database):
    """aiida's storage may connect before a daemon worker imports the plugin: the listener is on the Pool class."""
    use_write_ahead_log(database)
    sqlalchemy.event.remove(sqlalchemy.pool.Pool, 'checkout', sqlite_commit_sync._on_checkout)  # as before the import
    engine = sqlalchemy.create_engine(f'sqlite:///{database}')
    try:
        with engine.connect() as connection:
            pooled = connection.connection.dbapi_connection
            assert connection.exec_driver_sql('PRAGMA synchronous').scalar() == 2  # SQLite's default, FULL
        sqlite_commit_sync.install()
        sqlite_commit_sync.install()  # idempotent
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection is pooled  # the same connection, not a new one
            assert connection.exec_driver_sql('PRAGMA synchronous').scalar() == 1
            connection.exec_driver_sql('INSERT INTO node VALUES (1)')
            connection.commit()
        with engine.connect() as connection:
            assert connection.exec_driver_sql('SELECT count(*) FROM node').scalar() == 1
    finally:
        sqlite_commit_sync.install()
        engine.dispose()


def test_full_from_the_environment_keeps_sqlites_default(database, monkeypatch):
    use_write_ahead_log(database)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, 'FULL')
    engine = sqlalchemy.create_engine(f'sqlite:///{database}')
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql('PRAGMA synchronous').scalar() == 2
    finally:
        engine.dispose()
