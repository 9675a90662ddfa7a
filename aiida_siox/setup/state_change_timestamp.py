"""The "last time a process changed state" timestamp written at most once a second, not at every change.

At every state a process enters, aiida-core 2.9 writes the current time into a global setting of the
profile (``process|state_change|calculation`` or ``|work``): a query, an update and a commit. Only
``verdi process list`` reads it, for its footer ("Last time an entry changed state: 3s ago"). One
alpha-quartz site with its ground state made 126 such writes of 842 commits (session 26), ~4 % of
the daemon worker's CPU.

Here a write comes at most once a second per setting of a profile: a change within a second of the
last write is written when that second is over (a timer on the running event loop), with the time of
that write. The footer is then at most a second late (or the last change of a run whose event loop
stops within that second is not written). A change with no running event loop is written at once.
"""

from __future__ import annotations

import asyncio
import time

#: Seconds between two writes of the same setting.
WRITE_INTERVAL = 1.0


def install() -> None:
    """Replace ``aiida.engine.utils.set_process_state_change_timestamp`` (imported by ``Process.on_entered``
    at each call); once."""
    from aiida.engine import utils
    from aiida.manage import get_profile
    from aiida.orm import CalculationNode, WorkflowNode

    write = utils.set_process_state_change_timestamp
    if getattr(write, 'at_most_every_second', False):
        return
    last_write: dict[tuple, float] = {}  # by (profile, kind)
    pending: dict[tuple, asyncio.AbstractEventLoop] = {}  # the loop whose timer will write the setting

    def write_now(key: tuple, node) -> None:
        pending.pop(key, None)
        profile = get_profile()
        if profile is None or profile.name != key[0]:
            return  # the profile was unloaded or changed before the timer fired: its setting is out of reach
        last_write[key] = time.monotonic()
        write(node)

    def set_timestamp_at_most_every_second(node) -> None:
        kind = CalculationNode if isinstance(node, CalculationNode) else WorkflowNode if isinstance(node, WorkflowNode) else None
        profile = get_profile()
        if kind is None or profile is None:
            return write(node)  # aiida's own answer for other nodes (none, or its ValueError)
        key = (profile.name, kind)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return write_now(key, node)
        if pending.get(key) is loop:
            return None  # the write already due covers this change
        wait = last_write.get(key, -WRITE_INTERVAL) + WRITE_INTERVAL - time.monotonic()
        if wait <= 0:
            return write_now(key, node)
        pending[key] = loop  # a timer of a loop that has stopped since never fires: this one replaces it
        loop.call_later(wait, write_now, key, node)
        return None

    set_timestamp_at_most_every_second.at_most_every_second = True
    set_timestamp_at_most_every_second.__doc__ = write.__doc__
    utils.set_process_state_change_timestamp = set_timestamp_at_most_every_second
