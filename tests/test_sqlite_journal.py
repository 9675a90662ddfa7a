"""The embedded profile's SQLite file in WAL mode: where it is safe, idempotent, and reported."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest

from aiida_siox.setup import sqlite_journal
from aiida_siox.setup.sqlite_journal import filesystem_type, use_write_ahead_log

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,relatime 0 0
/dev/vdb /home/scratch xfs rw 0 0
"""


@pytest.mark.parametrize(
    ('path', 'kind'),
    [('/home/ana/.aiida/db.sqlite', 'nfs4'), ('/home/scratch/ana/db.sqlite', 'xfs'), ('/tmp/db.sqlite', 'ext4'), ('/homework/db', 'ext4')],
)
def test_the_filesystem_is_that_of_the_deepest_mount_above_the_path(path, kind):
    assert filesystem_type(pathlib.Path(path), MOUNTS) == kind


def journal_mode(database: pathlib.Path) -> str:
    connection = sqlite3.connect(database)
    try:
        return connection.execute('PRAGMA journal_mode').fetchone()[0]
    finally:
        connection.close()


@pytest.fixture
def database(tmp_path) -> pathlib.Path:
    path = tmp_path / 'database.sqlite'
    connection = sqlite3.connect(path)
    connection.execute('CREATE TABLE node (id INTEGER PRIMARY KEY)')
    connection.commit()
    connection.close()
    assert journal_mode(path) == 'delete'  # SQLite's default, as aiida leaves it
    return path


def test_a_local_database_switches_to_the_write_ahead_log_once_and_for_every_later_connection(database):
    assert use_write_ahead_log(database) == ('wal', 'write-ahead log')
    assert journal_mode(database) == 'wal'  # a property of the file: a new connection sees it
    assert use_write_ahead_log(database)[0] == 'wal'  # idempotent


def test_a_database_on_a_network_filesystem_keeps_its_rollback_journal(database, monkeypatch):
    monkeypatch.setattr(sqlite_journal, 'filesystem_type', lambda _: 'nfs4')
    mode, why = use_write_ahead_log(database)
    assert mode == 'delete' and 'nfs4' in why
    assert journal_mode(database) == 'delete'


def test_the_test_profile_runs_on_the_write_ahead_log_as_a_set_up_profile_does(aiida_profile):
    from aiida.manage import get_manager

    assert journal_mode(get_manager().get_profile_storage().filepath_database) == 'wal'


def test_a_missing_database_is_named_and_not_created(tmp_path):
    with pytest.raises(FileNotFoundError, match='no SQLite database at'):
        use_write_ahead_log(tmp_path / 'database.sqlite')
    assert not (tmp_path / 'database.sqlite').exists()
