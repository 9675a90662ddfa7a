"""The sliding window's bookkeeping (pure logic: no engine, no programs)."""

from types import SimpleNamespace

from aiida.common import AttributeDict

from aiida_siox.workflows.sliding_window import fill_window, has_work_left


def test_fill_window_launches_in_order_up_to_the_limit_and_refills_freed_slots():
    ctx = AttributeDict({'pending': ['a', 'b', 'c', 'd', 'e']})
    pks = iter(range(100, 200))
    launched_items = []

    def launch(item):
        launched_items.append(item)
        return SimpleNamespace(pk=next(pks))

    assert fill_window(ctx, 2, launch) == ['a', 'b']
    assert ctx.in_flight == [100, 101] and ctx.pending == ['c', 'd', 'e']
    assert fill_window(ctx, 2, launch) == []  # full: nothing more until a slot frees
    ctx.in_flight.remove(100)  # the oldest ended
    assert fill_window(ctx, 2, launch) == ['c'] and ctx.in_flight == [101, 102]
    ctx.in_flight.clear()
    assert fill_window(ctx, 5, launch) == ['d', 'e'] and ctx.pending == []
    assert launched_items == ['a', 'b', 'c', 'd', 'e']  # each item launched once, in order
    assert has_work_left(ctx)  # d and e still in flight
    ctx.in_flight.clear()
    assert not has_work_left(ctx)
