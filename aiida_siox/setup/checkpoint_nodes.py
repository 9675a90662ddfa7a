"""The nodes of a process checkpoint loaded in one query, not one query each.

A daemon worker starts every submitted process from its checkpoint (YAML). aiida-core 2.9 reads
each node in it (``!aiida_node <uuid>``: the process's inputs, its context) with ``load_node``, one
query per node: a site's job has ~15 input nodes, its restart workchain and site workchain as many.
That was 225 of 2219 samples of the daemon worker over three quartz XANES sites with their ground
states (py-spy, session 23: 0.37 s per site), between the sites' jobs.

Here, at the first node the YAML names, every UUID of the text is read and their nodes loaded by
one query; aiida's own loader reads the YAML, its node constructor answering from those. (A
checkpoint holds its inputs as YAML text inside it, read by a second call: the first one then names
no node and asks nothing.) A UUID the query did not return (a node deleted meanwhile) goes to
``load_node`` as before, and fails as it did.
"""

from __future__ import annotations

import re
import typing as t

#: A node in aiida's checkpoint YAML: ``!aiida_node 'uuid'`` (quoted or not).
NODE_UUID = re.compile(r"!aiida_node\s+'?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'?")


def nodes_named_in(serialized: str) -> dict:
    """The nodes named in ``serialized`` (``!aiida_node``), by UUID, from one query."""
    from aiida import orm

    uuids = set(NODE_UUID.findall(serialized))
    if not uuids:
        return {}
    query = orm.QueryBuilder().append(orm.Node, filters={'uuid': {'in': sorted(uuids)}}, project=['*', 'uuid'])
    return {uuid: node for node, uuid in query.iterall()}


def install() -> None:
    """Make ``aiida.orm.utils.serialize.deserialize_unsafe`` load a checkpoint's nodes in one query (idempotent)."""
    import yaml
    from aiida import orm
    from aiida.orm.utils import serialize

    if getattr(serialize.deserialize_unsafe, 'loads_nodes_at_once', False):
        return

    class NodesAtOnceLoader(serialize.AiiDALoader):
        """aiida's loader, whose ``!aiida_node`` constructor loads all the text's nodes at its first call."""

        def __init__(self, stream: str):
            super().__init__(stream)
            self.text = stream
            self.nodes: dict | None = None

    def node_constructor(loader: NodesAtOnceLoader, node: yaml.Node) -> orm.Node:
        uuid = loader.construct_scalar(node)
        if loader.nodes is None:
            loader.nodes = nodes_named_in(loader.text)
        found = loader.nodes.get(uuid)  # not `or`: an empty List or Dict node is falsy
        return found if found is not None else orm.load_node(uuid=uuid)

    NodesAtOnceLoader.add_constructor(serialize._NODE_TAG, node_constructor)
    original = serialize.deserialize_unsafe

    def deserialize_unsafe(serialized: str) -> t.Any:
        if not isinstance(serialized, str):  # a broker message as bytes: aiida's own
            return original(serialized)
        loader = NodesAtOnceLoader(serialized)
        try:
            return loader.get_single_data()  # what yaml.load does with a loader
        finally:
            loader.dispose()

    deserialize_unsafe.loads_nodes_at_once = True
    deserialize_unsafe.__doc__ = original.__doc__
    serialize.deserialize_unsafe = deserialize_unsafe
