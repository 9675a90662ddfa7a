"""The embedded profile's SQLite file in WAL mode: where it is safe, idempotent, and reported."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest

from aiida_siox.setup import sqlite_journal
from aiida_siox.setup.sqlite_journal import checkpoint, filesystem_type, use_write_ahead_log

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,relatime 0 0
/dev/vdb /home/scratch xfs rw 0 0
systemd-1 /data autofs rw 0 0
server:/data /data nfs4 rw 0 0
/dev/vdc /mnt/my\\040disk ext4 rw 0 0
"""


@pytest.mark.parametrize(
    ('path', 'kind'),
    [
        ('/home/ana/.aiida/db.sqlite', 'nfs4'),
        ('/home/scratch/ana/db.sqlite', 'xfs'),
        ('/tmp/db.sqlite', 'ext4'),
        ('/homework/db', 'ext4'),  # not under /home: a prefix of the name is not a parent folder
        ('/data/aiida/db.sqlite', 'nfs4'),  # mounted twice: the later mount hides the first
        ('/mnt/my disk/db.sqlite', 'ext4'),  # a space, written \\040 in the table
    ],
)
def test_the_filesystem_is_that_of_the_deepest_mount_above_the_path(path, kind):
    assert filesystem_type(pathlib.Path(path), MOUNTS) == kind


def journal_mode(database: pathlib.Path) -> str:
    connection = sqlite3.connect(database)
    try:
        return connection.execute('PRAGMA journal_mode').fetchone()[0]
    finally:
        connection.close()


def test_a_new_database_has_sqlites_default_rollback_journal(database):
    assert journal_mode(database) == 'delete'  # SQLite's default, as aiida leaves it


def test_a_local_database_switches_to_the_write_ahead_log_once_and_for_every_later_connection(database):
    assert use_write_ahead_log(database) == ('wal', 'write-ahead log')
    assert journal_mode(database) == 'wal'  # a property of the file: a new connection sees it
    assert use_write_ahead_log(database)[0] == 'wal'  # idempotent


def test_a_database_on_a_network_filesystem_keeps_its_rollback_journal(database, monkeypatch):
    monkeypatch.setattr(sqlite_journal, 'filesystem_type', lambda _: 'nfs4')
    mode, why = use_write_ahead_log(database)
    assert mode == 'delete' and 'nfs4' in why
    assert journal_mode(database) == 'delete'


def test_a_database_moved_onto_a_network_filesystem_goes_back_to_the_rollback_journal(database, monkeypatch):
    use_write_ahead_log(database)
    monkeypatch.setattr(sqlite_journal, 'filesystem_type', lambda _: 'lustre')
    assert use_write_ahead_log(database)[0] == 'delete' and journal_mode(database) == 'delete'


def test_a_database_held_in_a_transaction_keeps_its_mode_and_says_why(database):
    reader = sqlite3.connect(database)
    reader.execute('BEGIN')
    reader.execute('SELECT * FROM node').fetchall()  # a read transaction: no exclusive lock for the switch
    try:
        mode, why = use_write_ahead_log(database, timeout=0.1)
    finally:
        reader.close()
    assert mode == 'delete' and why.startswith('could not switch to WAL') and 'daemon stopped' in why
    assert journal_mode(database) == 'delete'


def rows_in_file_alone(database: pathlib.Path, tmp_path: pathlib.Path) -> int:
    """The rows a copy of the database file without its -wal file holds (what `verdi storage backup` copies)."""
    copy = tmp_path / 'copy.sqlite'
    copy.write_bytes(database.read_bytes())
    connection = sqlite3.connect(copy)
    try:
        return connection.execute('SELECT count(*) FROM node').fetchone()[0]
    finally:
        connection.close()


def test_a_checkpoint_puts_every_commit_into_the_file_a_backup_copies(database, tmp_path):
    use_write_ahead_log(database)
    writer = sqlite3.connect(database)  # stays open, as a daemon's connection does: the log is not folded in
    try:
        writer.executemany('INSERT INTO node VALUES (?)', [(i,) for i in range(50)])
        writer.commit()
        assert rows_in_file_alone(database, tmp_path) == 0  # the commits live in database.sqlite-wal
        checkpoint(database)
        assert rows_in_file_alone(database, tmp_path) == 50
        reader = sqlite3.connect(database)  # a process in the middle of reading an older state
        reader.execute('BEGIN')
        reader.execute('SELECT * FROM node').fetchall()
        writer.execute('INSERT INTO node VALUES (50)')
        writer.commit()
        with pytest.raises(RuntimeError, match='in use by another process'):
            checkpoint(database, timeout=0.1)
        reader.close()
    finally:
        writer.close()


def test_a_missing_database_is_named_and_not_created(tmp_path):
    with pytest.raises(FileNotFoundError, match='no SQLite database at'):
        use_write_ahead_log(tmp_path / 'database.sqlite')
    assert not (tmp_path / 'database.sqlite').exists()


def test_siox_backup_copies_a_complete_database_of_the_embedded_profile(aiida_profile, tmp_path):
    from aiida import orm
    from aiida.manage import get_manager
    from click.testing import CliRunner

    from aiida_siox.cli import siox

    orm.Int(1).store()  # a commit that only the write-ahead log holds until it is folded in
    expected = orm.QueryBuilder().append(orm.Node).count()
    result = CliRunner().invoke(siox, ['backup', str(tmp_path / 'backups'), '-p', aiida_profile.name])
    assert result.exit_code == 0, result.output
    assert 'Write-ahead log of' in result.output and 'Backup of' in result.output
    name = get_manager().get_profile_storage().filepath_database.name
    copy = sqlite3.connect(tmp_path / 'backups' / 'last-backup' / name)
    try:
        assert copy.execute('SELECT count(*) FROM db_dbnode').fetchone()[0] == expected
    finally:
        copy.close()
