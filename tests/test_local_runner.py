"""The tests' in-process runner: a workchain waiting on its child's job leaves the CPU to the job."""

from __future__ import annotations

import ast
import pathlib
import time

import pytest
from aiida import orm
from aiida.engine import ToContext, WorkChain
from aiida_shell import ShellJob
from aiida_shell.launch import prepare_code
from local_runner import RUNNER_POLL_SECONDS, run_get_node

TESTS = pathlib.Path(__file__).parent


class WaitsOnShellJob(WorkChain):
    """Submits one ShellJob and waits for it: the hand-over the runner learns of by polling."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('code', valid_type=orm.AbstractCode)
        spec.outline(cls.launch, cls.done)

    def launch(self):
        options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}
        child = self.submit(ShellJob, code=self.inputs.code, arguments=orm.List(['3']), metadata={'options': options})
        return ToContext(child=child)

    def done(self):
        assert self.ctx.child.is_finished_ok


@pytest.mark.codes
def test_waiting_on_a_job_does_not_keep_a_core_busy(siox_setup):
    """aiida's test profile polls with 0 s: this process then used a whole core for as long as the job ran."""
    code = prepare_code('sleep', siox_setup['computer'])
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    _, node = run_get_node(WaitsOnShellJob, code=code)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    assert node.is_finished_ok, node.exit_status
    assert wall > 3.0  # the job's `sleep 3` ran
    assert cpu < 0.6 * wall, f'{cpu:.1f} s of CPU in {wall:.1f} s: the runner spins while the job runs'


def test_every_test_runs_processes_on_the_polling_runner():
    """aiida.engine's run / run_get_node would make a runner with the test profile's 0 s poll interval."""
    offenders = []
    for path in sorted(TESTS.glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == 'aiida.engine':
                offenders += [f'{path.name}: {alias.name}' for alias in node.names if alias.name in ('run', 'run_get_node', 'run_get_pk')]
    assert not offenders, f'import run_get_node from local_runner instead: {offenders}'
    assert 0 < RUNNER_POLL_SECONDS <= 0.5
