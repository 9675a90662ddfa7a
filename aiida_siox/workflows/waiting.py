"""Waiting for submitted processes from a `verdi run` script (the scripts' --wait option)."""

from __future__ import annotations

import time

from aiida import orm


def wait_until_terminated(nodes: list[orm.ProcessNode], interval: float = 5.0) -> list[int]:
    """Block until every node has terminated; return the pks of those that did not finish ok."""
    from aiida.manage import get_manager

    while True:
        get_manager().get_profile_storage().get_session().commit()  # see the states the daemon wrote
        if all(node.is_terminated for node in nodes):
            return [node.pk for node in nodes if not node.is_finished_ok]
        time.sleep(interval)
