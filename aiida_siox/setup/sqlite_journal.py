"""The embedded profile's SQLite database in write-ahead-log (WAL) mode.

aiida's ``core.sqlite_dos`` storage leaves SQLite's default rollback journal: every commit creates,
fsyncs and deletes a journal file. The engine commits hundreds of times per XANES site (node stores,
checkpoints, links), and on a disk that other work also uses each fsync waits. WAL appends to one
log instead (measured on this machine beside a running study: 18 ms -> 3.8 ms per commit, aiida
calcfunctions 2-3x faster; idle, ~1 s less per XANES site) and lets readers (``verdi``,
``siox status``) run beside the daemon's writes. The mode is a property of the database file, so
setting it once at set-up serves every later process. Each commit still fsyncs the log under SQLite's
default ``synchronous=FULL``: :mod:`aiida_siox.setup.sqlite_commit_sync` lowers that to ``NORMAL``
on WAL databases.

WAL needs shared memory between the processes that use the file, which network filesystems do not
give: there the database keeps its rollback journal, and the set-up says so.
"""

from __future__ import annotations

import pathlib
import sqlite3

#: Filesystems on which SQLite's WAL index (a memory-mapped ``-shm`` file) is not shared reliably.
NETWORK_FILESYSTEMS = frozenset(
    {'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'lustre', 'gpfs', 'beegfs', 'ceph', 'afs', 'glusterfs', '9p'}
    | {'fuse.sshfs', 'fuse.glusterfs', 'fuse.ceph-fuse'}
)


def _unescape(field: str) -> str:
    """A path of ``/proc/mounts``, whose space, tab, newline and backslash are written as octal escapes."""
    for escape, character in (('\\040', ' '), ('\\011', '\t'), ('\\012', '\n'), ('\\134', '\\')):
        field = field.replace(escape, character)
    return field


def filesystem_type(path: pathlib.Path, mounts: str | None = None) -> str:
    """The type of the filesystem that holds ``path``: the deepest mount point above it in ``/proc/mounts``,
    and of two mounts on the same point the later one (it hides the first)."""
    if mounts is None:
        try:
            mounts = pathlib.Path('/proc/mounts').read_text()
        except OSError:  # not Linux: no table to read
            return 'unknown'
    resolved = path.resolve()
    best, kind = -1, 'unknown'
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = pathlib.Path(_unescape(fields[1]))
        if (resolved == point or point in resolved.parents) and len(point.parts) >= best:
            best, kind = len(point.parts), fields[2]
    return kind


def _connect(database: pathlib.Path, timeout: float) -> sqlite3.Connection:
    if not database.is_file():  # sqlite3 would create an empty database in its place
        raise FileNotFoundError(f'no SQLite database at {database}')
    return sqlite3.connect(database, timeout=timeout)


def use_write_ahead_log(database: pathlib.Path, timeout: float = 10.0) -> tuple[str, str]:
    """Switch the SQLite file ``database`` to WAL where it is safe; return (its journal mode now, why).

    Idempotent. On a network filesystem the file gets (or keeps) the rollback journal. A database
    that another process holds in a transaction for longer than ``timeout`` seconds keeps its mode,
    and the reason says so (run it again with the daemon stopped).
    """
    kind = filesystem_type(database)
    wanted = 'DELETE' if kind in NETWORK_FILESYSTEMS else 'WAL'
    connection = _connect(database, timeout)
    try:
        try:
            mode = connection.execute(f'PRAGMA journal_mode={wanted}').fetchone()[0].lower()
        except sqlite3.OperationalError as error:  # locked by another process for the whole timeout
            mode = connection.execute('PRAGMA journal_mode').fetchone()[0].lower()
            return mode, f'could not switch to {wanted} ({error}): run `siox setup` again with the daemon stopped'
    finally:
        connection.close()
    if wanted == 'DELETE':
        return mode, f'rollback journal: the database is on {kind}, where WAL is not safe'
    return mode, 'write-ahead log' if mode == 'wal' else f'SQLite kept journal mode {mode}'


def checkpoint(database: pathlib.Path, timeout: float = 10.0) -> None:
    """Fold the write-ahead log back into the database file and empty it, so that a copy of the file
    alone (``verdi storage backup`` copies only that) holds every commit. Raises RuntimeError when a
    process still reads or writes the database, so the log could not be folded in completely."""
    connection = _connect(database, timeout)
    try:
        busy, _, _ = connection.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()
    finally:
        connection.close()
    if busy:
        raise RuntimeError(f'{database} is in use by another process: stop it (`verdi daemon stop`) and try again')
