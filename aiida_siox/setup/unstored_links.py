"""No link queries for a node that is not stored yet (a process being launched, the outputs it creates).

A node without a database row has no stored links, and no stored path leads from it. aiida-core 2.9
says so itself (``link_triple_exists``: "If either node is unstored ... the link cannot exist in the
database") but still queries for them while it validates each new link into such a node:

- the cycle check of every ``CREATE``/``INPUT`` link: a recursive query filtered on ``id = None``;
- the degree checks (``get_incoming`` of the target, for "one link of this type/label"): a query of
  the node's stored links, always empty; its cached links, the only ones it can have, are kept.

They run once per input of every process launched and once per output it creates. The daemon
worker spent 0.56 s of one amorphous XANES site in the cycle queries alone (py-spy, session 22: 14 %
of its CPU, all of it between the site's jobs). Here both answer "none" for an unstored node without
asking the database; for a stored node everything is aiida's own, unchanged.
"""

from __future__ import annotations


def install() -> None:
    """Replace ``NodeLinks.validate_incoming`` and ``NodeLinks.get_stored_link_triples``; once."""
    from aiida.orm.nodes.links import NodeLinks

    validate_incoming = NodeLinks.validate_incoming
    if getattr(validate_incoming, 'skips_unstored_queries', False):
        return
    get_stored_link_triples = NodeLinks.get_stored_link_triples

    def validate_incoming_without_empty_query(self, source, link_type, link_label) -> None:
        if self._node.is_stored:
            return validate_incoming(self, source, link_type, link_label)
        from aiida.orm.utils.links import validate_link

        validate_link(source, self._node, link_type, link_label, backend=self._node.backend)

    def stored_link_triples_of_stored_nodes(self, *args, **kwargs):
        if self._node.pk is None:
            return []
        return get_stored_link_triples(self, *args, **kwargs)

    validate_incoming_without_empty_query.skips_unstored_queries = True
    validate_incoming_without_empty_query.__doc__ = validate_incoming.__doc__
    stored_link_triples_of_stored_nodes.__doc__ = get_stored_link_triples.__doc__
    NodeLinks.validate_incoming = validate_incoming_without_empty_query
    NodeLinks.get_stored_link_triples = stored_link_triples_of_stored_nodes
