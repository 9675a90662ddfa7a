"""Faults provoked for real on the production path: PostgreSQL + RabbitMQ profile, a daemon with two
workers, every job through SSH + SLURM (setup_profiles/cluster.sh). Each test submits a
SiteXanesWorkChain on alpha-quartz (real pw.x + xspectra.x), breaks something while a SLURM job is
in the queue, and checks that the workchain finishes with every site and no job run twice:

- the daemon is SIGKILLed and started again (the SLURM jobs go on meanwhile, as on a cluster);
- sshd is stopped until the engine has failed to reach it twice (its back-off retries), then started again;
- RabbitMQ's application is stopped and started (every client connection drops): nothing is lost, but a job
  may run twice (aiida-core has no process lock; see the test).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import time
import uuid

import pytest
from daemon_crash import kill_daemon
from service_profiles import BIN, cli_runner, delete_production_profile

pytestmark = [pytest.mark.slurm, pytest.mark.services]

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLUSTER = ROOT / 'setup_profiles' / 'cluster.sh'

SUBMIT = """
import sys
from aiida import orm
from aiida.engine import submit
from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.setup.cluster import JOB_OPTIONS_PROPERTY
from aiida_siox.setup.environment import load_pipeline_codes
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

codes = load_pipeline_codes('cluster')
options = orm.load_computer('cluster').get_property(JOB_OPTIONS_PROPERTY)
calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
builder = SiteXanesWorkChain.get_builder_from_protocol(
    codes, alpha_quartz(), protocol='fast', options=options['mpi'], calibration=calibration
)
builder.max_concurrent_sites = orm.Int(1)
builder.sites = orm.List([int(s) for s in sys.argv[1].split(',')])
node = submit(builder)
print(f'PK={node.pk}')
"""

PROGRESS = """
import json, subprocess, sys, time
from aiida import orm
from aiida.manage import get_manager


def state(pk):
    node = orm.load_node(pk)
    all_jobs = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
    # a job stored by a launch that the kill cut short never runs: the engine marks it and launches it again
    jobs = [n for n in all_jobs if not n.base.extras.get('siox_never_started', False)]
    return {'terminated': node.is_terminated, 'exit_status': node.exit_status, 'exit_message': node.exit_message,
            'jobs': [j.process_label for j in jobs], 'job_exit': [j.exit_status for j in jobs],
            'never_started': len(all_jobs) - len(jobs),
            # each failed attempt of the engine's exponential back-off stores its traceback on the job's node
            # (the database log keeps the traceback, not the 'retrying after' line): the most failures of one
            # job, since two jobs failing once each are not a retry
            'transport_retries': max([sum(log.levelname == 'ERROR' and 'exponential_backoff_retry' in log.message
                                          for log in orm.Log.collection.get_logs_for(j)) for j in all_jobs] or [0]),
            'detail': [(j.pk, j.process_label, j.exit_status, j.caller.process_label, j.caller.pk, j.get_job_id(),
                        str(j.ctime)) for j in jobs],
            'outputs': sorted(node.outputs.aligned_spectra) if 'aligned_spectra' in node.outputs else []}


def slurm_jobs():
    return subprocess.run(['squeue', '-h', '-o', '%i'], capture_output=True, text=True, check=True).stdout.split()


CONDITIONS = {
    'now': lambda s: True,
    'terminated': lambda s: s['terminated'],
    'site-job-queued': lambda s: s['jobs'].count('CoreHoleXspectraCalculation') >= 1 and slurm_jobs(),
    'two-transport-retries': lambda s: s['transport_retries'] >= 2,
}
# One process polls until the condition holds (a `verdi run` per poll cost ~1.1 s of CPU, taken from the jobs)
pk, until, timeout, interval = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
session = get_manager().get_profile_storage().get_session()
deadline = time.monotonic() + timeout
while True:
    current = state(pk)
    session.commit()  # end the read transaction before waiting; committing also expires the nodes read
    if CONDITIONS[until](current) or time.monotonic() >= deadline:
        break
    time.sleep(interval)
current['condition_met'] = bool(CONDITIONS[until](current))
print(json.dumps(current))
"""


@pytest.fixture(scope='module')
def production_cluster(tmp_path_factory):
    """A PostgreSQL + RabbitMQ profile with the pseudopotentials and the cluster computer, its daemon running 2 workers."""
    subprocess.run([CLUSTER, 'start'], check=True, capture_output=True, timeout=600)
    config_dir = tmp_path_factory.mktemp('aiida')
    name = f'siox-faults-{uuid.uuid4().hex[:8]}'
    sh = cli_runner(config_dir)

    sh(BIN / 'siox', 'setup', '--profile', name, 'production')
    sh(
        BIN / 'siox',
        'setup',
        '--profile',
        name,
        'cluster',
        '--config',
        ROOT / 'aiida_siox' / 'setup' / 'configs' / 'computers' / 'cluster.yaml',
    )
    # The engine's back-off after a failed transport task: 20 s, then doubled (aiida's default). The SSH outage
    # test waits for a second failed attempt and then for the attempt after the outage: 5 s here, so it waits
    # 5 + 10 s instead of 20 + 40 s; what is tested (the job waits and resumes) is the same.
    sh(BIN / 'verdi', '-p', name, 'config', 'set', 'transport.task_retry_initial_interval', '5')
    sh(BIN / 'verdi', '-p', name, 'daemon', 'start', '2')
    (config_dir / 'submit.py').write_text(SUBMIT)
    (config_dir / 'progress.py').write_text(PROGRESS)
    yield {'name': name, 'sh': sh, 'dir': config_dir}
    subprocess.run([CLUSTER, 'start-sshd'], check=False, capture_output=True)
    subprocess.run(['rabbitmqctl', 'start_app'], check=False, capture_output=True)
    delete_production_profile(sh, name)


def submit(env, sites: str) -> int:
    output = env['sh'](BIN / 'verdi', '-p', env['name'], 'run', env['dir'] / 'submit.py', sites).stdout
    return int(output.split('PK=')[1].split()[0])


def progress(env, pk: int, until: str = 'now', timeout: float = 0, interval: float = 2) -> dict:
    """The workchain's state, once ``until`` holds (see PROGRESS's conditions) or ``timeout`` seconds have passed."""
    args = (BIN / 'verdi', '-p', env['name'], 'run', env['dir'] / 'progress.py', pk, until, timeout, interval)
    state = json.loads(env['sh'](*args, timeout=timeout + 120).stdout.strip().splitlines()[-1])
    assert state['condition_met'], f'timed out after {timeout} s waiting for {until}: {state}'
    return state


def our_slurm_jobs() -> list[str]:
    """Job ids in the queue (pending or running)."""
    return subprocess.run(['squeue', '-h', '-o', '%i'], capture_output=True, text=True, check=True).stdout.split()


def wait_for(condition, what: str, timeout: float = 600, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(interval)
    return value


def finish(env, pk: int, timeout: float = 900) -> dict:
    return progress(env, pk, 'terminated', timeout)


def assert_complete(state: dict, sites: list[int], no_repeats: bool = True) -> None:
    """Every site done and every job finished well; with ``no_repeats``: one ground-state pw.x, then per site one
    job (core-hole pw.x and xspectra.x for x, y, z), no job twice."""
    assert state['exit_status'] == 0, state
    assert state['outputs'] == [f'site_{s}' for s in sites], state
    assert all(status == 0 for status in state['job_exit']), state
    counts = (state['jobs'].count('PwCalculation'), state['jobs'].count('CoreHoleXspectraCalculation'))
    if no_repeats:
        assert counts == (1, len(sites)), state['detail']
    else:
        assert counts[0] >= 1 and counts[1] >= len(sites), state['detail']


def test_killed_daemon_resumes_while_slurm_keeps_the_jobs(production_cluster):
    env = production_cluster
    pk = submit(env, '0,1')
    progress(env, pk, 'site-job-queued', 600, 1)
    queued = our_slurm_jobs()
    assert queued and kill_daemon(env['dir']) >= 3  # the arbiter and two workers, waited for until gone
    assert not progress(env, pk)['terminated']  # work was still pending when the daemon died
    recovered = env['sh'](BIN / 'siox', 'recover', '-p', env['name'], '--workers', '2').stdout
    assert 'started with 2 worker(s)' in recovered, recovered
    state = finish(env, pk)
    assert_complete(state, [0, 1])
    # SLURM kept the jobs while the daemon was dead: the resumed engine took each one over (same job id,
    # finished well) instead of submitting it again.
    finished_ids = {job_id for (_, _, status, _, _, job_id, _) in state['detail'] if status == 0}
    assert set(queued) <= finished_ids, (queued, state['detail'])


def test_ssh_outage_pauses_and_resumes(production_cluster):
    env = production_cluster
    pk = submit(env, '2')
    wait_for(our_slurm_jobs, 'a job in the SLURM queue')
    subprocess.run([CLUSTER, 'stop-sshd'], check=True, capture_output=True)
    refused = subprocess.run(
        ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-p', '2222', '127.0.0.1', 'true'], capture_output=True, check=False
    )
    try:
        assert refused.returncode != 0  # the outage is real: no new SSH connection gets through
        # the engine met the outage and retried through it: one job failed twice (its first retry comes 5 s
        # later, as set above; after 5 failures, ~75 s, the engine would pause the job, which this test does not want)
        outage_state = progress(env, pk, 'two-transport-retries', 150)
    finally:
        subprocess.run([CLUSTER, 'start-sshd'], check=True, capture_output=True)
    assert not outage_state['terminated'], outage_state  # waited, did not fail
    assert_complete(finish(env, pk), [2])


def test_broker_restart_does_not_lose_processes(production_cluster):
    """RabbitMQ restarts under a one-worker daemon: the worker reconnects and the workchain finishes.

    With several workers a broker restart can hand a running process to a second worker while the
    first still runs it (aiida-core has no process lock, aiidateam/aiida-core#1823); measured here:
    extra pw.x jobs, and once a workchain with its `ground_state` output stored twice. docs/hpc.md
    therefore says: stop the daemon before a planned broker restart. One worker drops the re-sent
    task of a process it already runs, so this is the case that must always come through.
    """
    env = production_cluster
    env['sh'](BIN / 'verdi', '-p', env['name'], 'daemon', 'decr', '1')
    try:
        pk = submit(env, '1')
        wait_for(our_slurm_jobs, 'a job in the SLURM queue')
        subprocess.run(['rabbitmqctl', 'stop_app'], check=True, capture_output=True, timeout=120)
        time.sleep(10)  # the fault's duration: the broker stays down while the worker's connection drops
        subprocess.run(['rabbitmqctl', 'start_app'], check=True, capture_output=True, timeout=120)
        assert_complete(finish(env, pk), [1])
    finally:
        subprocess.run(['rabbitmqctl', 'start_app'], check=False, capture_output=True, timeout=120)
        env['sh'](BIN / 'verdi', '-p', env['name'], 'daemon', 'incr', '1', check=False)
