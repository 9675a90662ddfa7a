"""A stored data node's attributes, file list and hash read (or computed) once per node object, not at every use.

aiida-core 2.9 expires a stored node's ``attributes`` (and ``repository_metadata``) before each read, so
that a change made by another process is seen: every ``Int.value``, ``Dict.get_dict()``, structure
``kinds`` or pseudopotential ``element`` of a stored node is a SELECT of its row. The engine and the
parsers read the same inputs many times over a process's life. Over four alpha-quartz XANES sites with
their ground states, these reads were ~150 of 2,213 active py-spy samples of the daemon worker
(session 26).

Its hash is computed again each time a process takes it as an input (a process node's hash is made
from its inputs' hashes, recomputed: their attributes read, their files looked up in the object store),
so a pseudopotential or a code is hashed again by every process of every site: 203 samples in all.

A data node's attributes and its repository's file list cannot change once it is stored: aiida
refuses it (``ModificationNotAllowed``), in this process and in any other. A process node's can (its
state, its checkpoint), and is left to aiida. So a stored data node's backend object keeps the values
it read first, and the hash it computed; a write through the backend (which aiida's own code never
does for a stored data node) drops them. aiida's node methods hand out copies of a stored node's
attributes; a caller that changes the backend object's own dictionary in place changes what this
node object answers from then on (aiida would read the row again).
"""

from __future__ import annotations

#: Attribute of a ``SqlaNode`` instance: its ``attributes``, ``repository_metadata`` and hash once read, if it is stored data.
READ_ONCE = '_siox_data_fields'
#: Backend methods that write a node's attributes or files: each drops what was kept.
WRITERS = (
    'set_attribute',
    'set_attribute_many',
    'reset_attributes',
    'delete_attribute',
    'delete_attribute_many',
    'clear_attributes',
)


def install() -> None:
    """Replace ``SqlaNode``'s attribute and repository-metadata reads (the psql_dos and sqlite_dos storages
    share them) and ``NodeCaching.compute_hash`` by ones that read or compute a stored data node's once; once."""
    from aiida.orm import Data
    from aiida.orm.nodes.caching import NodeCaching
    from aiida.storage.psql_dos.orm.nodes import SqlaNode

    if getattr(SqlaNode.get_attribute, 'reads_data_once', False):
        return
    attributes_property = SqlaNode.attributes
    repository_metadata_property = SqlaNode.repository_metadata

    def read_once(node, field: str):
        kept = node.__dict__.get(READ_ONCE)
        if kept is not None and field in kept:
            return kept[field]
        value = getattr(node.model, field)  # aiida's read: its row, refreshed
        # node_type came with the row just read; a stored data node keeps the value
        if node.is_stored and node.model.node_type.startswith('data.'):
            node.__dict__.setdefault(READ_ONCE, {})[field] = value
        return value

    def attributes(self):
        return read_once(self, 'attributes')

    def get_attribute(self, key: str):
        try:
            return read_once(self, 'attributes')[key]
        except KeyError as exception:
            raise AttributeError(f'attribute `{exception}` does not exist') from exception

    def attributes_keys(self):
        yield from list(read_once(self, 'attributes'))

    def repository_metadata(self):
        return read_once(self, 'repository_metadata') or {}

    def dropping_kept(write):  # a write through the backend: what was kept is read again
        def write_and_drop(self, *args, **kwargs):
            self.__dict__.pop(READ_ONCE, None)
            return write(self, *args, **kwargs)

        write_and_drop.__doc__ = write.__doc__
        return write_and_drop

    get_attribute.reads_data_once = True
    get_attribute.__doc__ = SqlaNode.get_attribute.__doc__
    SqlaNode.attributes = property(attributes, doc=attributes_property.__doc__)
    SqlaNode.get_attribute = get_attribute
    SqlaNode.attributes_keys = attributes_keys
    set_repository_metadata = dropping_kept(repository_metadata_property.fset)
    SqlaNode.repository_metadata = property(repository_metadata, set_repository_metadata, doc=repository_metadata_property.__doc__)
    for name in WRITERS:
        setattr(SqlaNode, name, dropping_kept(getattr(SqlaNode, name)))

    compute_hash = NodeCaching.compute_hash

    def compute_hash_once(self, ignore_errors: bool = True, **kwargs):
        node = self._node
        if kwargs or not isinstance(node, Data) or not node.is_stored:
            return compute_hash(self, ignore_errors, **kwargs)
        kept = node.backend_entity.__dict__.setdefault(READ_ONCE, {})
        if kept.get('hash') is None:  # a failed hash (None) is tried again
            kept['hash'] = compute_hash(self, ignore_errors)
        return kept['hash']

    compute_hash_once.__doc__ = compute_hash.__doc__
    NodeCaching.compute_hash = compute_hash_once
