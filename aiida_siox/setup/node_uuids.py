"""A node's UUID read from its database row once per node object, not again after every commit.

aiida-core 2.9 reads ``node.uuid`` from the SQLAlchemy model each time. After each commit SQLAlchemy
expires every object of the session, so the first read of an expired node reloads its whole row
(its attributes too: a process node's checkpoint, a structure's sites). The engine commits at every
state change, and each checkpoint it writes names every node of the process's inputs and context by
UUID: each of those nodes is reloaded only for that. Over four alpha-quartz XANES sites with their
ground states, the daemon worker spent 235 of 2,725 active py-spy samples in these reloads (session
26: 193 in checkpoints, 42 in link validation).

A node's UUID is set when the node object is made (aiida's instant defaults) and nothing changes it,
stored or not: it is kept on the node's backend object at the first read.
"""

from __future__ import annotations

#: Attribute of a ``SqlaNode`` instance: its UUID as read the first time.
UUID = '_siox_uuid'


def install() -> None:
    """Replace ``SqlaNode.uuid`` (the psql_dos and sqlite_dos storages share it) by one that reads once; once."""
    from aiida.storage.psql_dos.orm.nodes import SqlaNode

    uuid_property = SqlaNode.uuid
    if getattr(uuid_property.fget, 'reads_once', False):
        return

    def uuid_read_once(self) -> str:
        try:
            return self.__dict__[UUID]
        except KeyError:
            value = self.__dict__[UUID] = uuid_property.fget(self)
            return value

    uuid_read_once.reads_once = True
    uuid_read_once.__doc__ = uuid_property.__doc__
    SqlaNode.uuid = property(uuid_read_once)
