"""A sliding window of child processes for a workchain: at most K in flight, a new one as soon as a slot frees.

A workchain step can only wait for all of the processes it names. The window therefore waits on
the oldest child still running; when the step wakes up, every child that has ended meanwhile frees
its slot and the next step refills them. Children of one workchain take similar times, so the
oldest is nearly always the first to end, and the queue stays close to K jobs instead of draining
to zero between batches. The window is a list of pks in the context: it survives a daemon restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiida import orm
from aiida.engine import ToContext

#: Context key the window waits on (popped again by ``ended_children``).
WAITING_ON = 'window_oldest'


def has_work_left(ctx) -> bool:
    """True while items wait in ``ctx.pending`` or children are in flight."""
    return bool(ctx.pending or ctx.get('in_flight'))


def fill_window(ctx, limit: int, launch: Callable[[Any], orm.ProcessNode]) -> list:
    """Launch items of ``ctx.pending`` in order until ``limit`` children are in flight; returns the items launched.

    ``launch(item)`` submits one child; its pk joins ``ctx.in_flight``.
    """
    in_flight = ctx.setdefault('in_flight', [])
    launched = []
    while ctx.pending and len(in_flight) < limit:
        item = ctx.pending.pop(0)
        in_flight.append(launch(item).pk)
        launched.append(item)
    return launched


def wait_for_oldest(in_flight: list[int]) -> ToContext | None:
    """What a step returns to wait on the oldest child still running (None when all have ended)."""
    running = [pk for pk in in_flight if not orm.load_node(pk).is_terminated]
    return ToContext(**{WAITING_ON: orm.load_node(running[0])}) if running else None


def ended_children(ctx, in_flight: list[int]) -> tuple[list[orm.ProcessNode], list[int]]:
    """(children that have ended, in launch order; pks of those still running)."""
    ctx.pop(WAITING_ON, None)
    nodes = [orm.load_node(pk) for pk in in_flight]
    return [n for n in nodes if n.is_terminated], [n.pk for n in nodes if not n.is_terminated]
