"""``run_get_node`` for the tests: aiida's, on a local runner that checks its children every 0.1 s.

aiida gives a test profile's runner a poll interval of 0 s, and the test profile has no broker, so
polling is how a workchain learns that its child ended: with 0 s the runner re-reads the child's
state from the database as fast as it can, keeping a whole core busy for as long as the child's job
runs (py-spy on pytest while a training job ran: ``Runner._poll_process`` in 79 % of the samples).
On 2 cores that halves the speed of the pw.x, LAMMPS or PyTorch job beside it. At 0.1 s a hand-over
waits at most 0.1 s and the polls cost ~1 % of a core.
"""

from __future__ import annotations

from typing import Any

from aiida.manage import get_manager
from aiida.orm import ProcessNode

#: Seconds between the runner's checks that a child process has ended.
RUNNER_POLL_SECONDS = 0.1


def run_get_node(process: Any, inputs: dict[str, Any] | None = None, **kwargs: Any) -> tuple[dict[str, Any], ProcessNode]:
    """Run ``process`` to its end in a new local runner (as ``aiida.engine.run_get_node``) that polls every 0.1 s."""
    runner = get_manager().create_runner(communicator=None, poll_interval=RUNNER_POLL_SECONDS)
    return runner.run_get_node(process, inputs, **kwargs)
