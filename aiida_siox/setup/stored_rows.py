"""A stored entity's ``id``, and so whether it is stored, read without reloading its database row.

aiida-core 2.9 answers ``node.is_stored`` and ``node.pk`` by reading the model's ``id``, and asks
``is_stored`` first at every attribute read and every flush. After each commit SQLAlchemy expires
every object of the session, so the first such read of each object reloads its whole row, a process
node's checkpoint included. The engine commits at every state change and every stored node and then
reads ``pk`` and ``is_stored`` of many nodes (links, hashes, checkpoints): over one
SiteXanesWorkChain of one amorphous site (its ground state and the site), the daemon worker spent
12 % of its CPU in these checks, most of it in the reloads (346 of 2,922 py-spy samples, session 24).

A flushed row has an identity in the session, its primary key, which survives expiry: ``id`` is
read from it. A model without one (new, or added but not flushed) goes through aiida's own code,
which needs no row for it.
"""

from __future__ import annotations


def install() -> None:
    """Replace ``ModelWrapper.__getattr__`` and ``ModelWrapper.is_saved`` (the psql_dos and sqlite_dos
    storages share them); once."""
    from aiida.storage.psql_dos.orm.utils import ModelWrapper
    from sqlalchemy import inspect

    is_saved = ModelWrapper.is_saved
    if getattr(is_saved, 'reads_identity', False):
        return
    getattr_refreshed = ModelWrapper.__getattr__

    def identity_id(wrapper) -> int | None:
        """The id of a flushed model (its one-column primary key), else None."""
        identity = inspect(object.__getattribute__(wrapper, '_model')).identity
        return identity[0] if identity is not None and len(identity) == 1 else None

    def getattr_id_from_identity(self, item):
        if item == 'id' and (pk := identity_id(self)) is not None:
            return pk
        return getattr_refreshed(self, item)

    def is_saved_from_identity(self) -> bool:
        return identity_id(self) is not None or is_saved(self)

    is_saved_from_identity.reads_identity = True
    is_saved_from_identity.__doc__ = is_saved.__doc__
    getattr_id_from_identity.__doc__ = getattr_refreshed.__doc__
    ModelWrapper.is_saved = is_saved_from_identity
    ModelWrapper.__getattr__ = getattr_id_from_identity
