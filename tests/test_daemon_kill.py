"""A daemon killed with SIGKILL mid-run, then started again: the XANES workchain finishes, nothing is lost
or run twice. On the embedded profile (SQLite + ZeroMQ broker with its on-disk task queue), as a user
without services has it; real pw.x and xspectra.x on alpha-quartz, two sites one at a time.
"""

import time
import uuid

import pytest
from daemon_crash import kill_daemon
from service_profiles import BIN, cli_runner

pytestmark = pytest.mark.codes


SUBMIT = """
from aiida import orm
from aiida.engine import submit
from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.setup.environment import load_pipeline_codes
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

codes = load_pipeline_codes('localhost')
calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
builder = SiteXanesWorkChain.get_builder_from_protocol(codes, alpha_quartz(), protocol='fast', calibration=calibration)
builder.max_concurrent_sites = orm.Int(1)
builder.sites = orm.List([0, 1])
node = submit(builder)
print(f'PK={node.pk}')
"""

PROGRESS = """
import json, sys
from aiida import orm
node = orm.load_node(int(sys.argv[1]))
sites = [n for n in node.called if n.process_label == 'SiteSpectrumWorkChain']
all_jobs = orm.QueryBuilder().append(orm.CalcJobNode).all(flat=True)
# a job stored by a launch that the kill cut short never runs: the engine marks it and launches it again
jobs = [n for n in all_jobs if not n.base.extras.get('siox_never_started', False)]
detail = [(n.pk, n.process_label, n.caller.process_label if n.caller else None, n.caller.pk if n.caller else None,
           n.process_state.value if n.process_state else None, n.exit_status) for n in all_jobs]
print(json.dumps({'terminated': node.is_terminated, 'exit_status': node.exit_status,
                  'sites': sorted(n.base.extras.get('siox_site') for n in sites),
                  'sites_done': sum(n.is_finished_ok for n in sites), 'jobs': [n.process_label for n in jobs],
                  'never_started': len(all_jobs) - len(jobs), 'detail': detail,
                  'outputs': sorted(node.outputs.aligned_spectra) if 'aligned_spectra' in node.outputs else []}))
"""
WATCHERS = """
import json
from aiida import get_profile
from aiida_siox.setup.daemon_stats import daemon_watchers
print(json.dumps(daemon_watchers(get_profile().name)))
"""


@pytest.fixture
def embedded_profile(tmp_path):
    name = f'siox-kill-{uuid.uuid4().hex[:8]}'
    sh = cli_runner(tmp_path)
    yield name, sh, tmp_path
    sh(BIN / 'verdi', '-p', name, 'daemon', 'stop', check=False)


def test_killed_daemon_resumes_without_losing_or_repeating_work(embedded_profile):
    import json

    name, sh, tmp_path = embedded_profile
    setup = sh(BIN / 'siox', 'setup', '--profile', name).stdout
    assert 'SQLite journal wal (write-ahead log)' in setup, setup  # the kill below lands on a live write-ahead log
    sh(BIN / 'verdi', '-p', name, 'daemon', 'start', '1')
    (tmp_path / 'submit.py').write_text(SUBMIT)
    (tmp_path / 'progress.py').write_text(PROGRESS)
    pk = int(sh(BIN / 'verdi', '-p', name, 'run', tmp_path / 'submit.py').stdout.split('PK=')[1].split()[0])

    def progress():
        return json.loads(sh(BIN / 'verdi', '-p', name, 'run', tmp_path / 'progress.py', pk).stdout.strip().splitlines()[-1])

    deadline = time.monotonic() + 600
    while (state := progress())['sites_done'] < 1:  # kill once the first site is done and the second under way
        assert not state['terminated'] and time.monotonic() < deadline, state
        time.sleep(2)
    assert kill_daemon(tmp_path) >= 2  # the arbiter and at least one worker, waited for until gone
    at_kill = progress()  # read from the storage: the daemon is dead
    assert not at_kill['terminated'] and at_kill['sites_done'] < 2, at_kill  # work was still pending when it died
    # `siox recover`, not a bare `verdi daemon start`: see aiida_siox/setup/daemon_recovery.py
    recovered = sh(BIN / 'siox', 'recover', '-p', name).stdout
    assert 'removed stale broker file' in recovered and 'started' in recovered, recovered
    (tmp_path / 'watchers.py').write_text(WATCHERS)
    watchers = json.loads(sh(BIN / 'verdi', '-p', name, 'run', tmp_path / 'watchers.py').stdout.strip().splitlines()[-1])
    assert watchers.get('circusd-stats') == 'stopped', watchers  # no statistics stream beside the jobs
    assert sorted(status for watcher, status in watchers.items() if watcher != 'circusd-stats') == ['active', 'active'], watchers

    deadline = time.monotonic() + 900
    while not (state := progress())['terminated']:
        assert time.monotonic() < deadline, state
        time.sleep(3)
    assert state['exit_status'] == 0, state
    assert state['outputs'] == ['site_0', 'site_1']
    assert state['sites'] == [0, 1]  # each site launched exactly once
    # one ground-state pw.x, then per site one job (core-hole pw.x and xspectra.x for x, y, z): no job twice
    assert sorted(state['jobs']).count('PwCalculation') == 1, state['detail']
    assert sorted(state['jobs']).count('CoreHoleXspectraCalculation') == 2, state['detail']
    assert all(job[-1] == 0 for job in state['detail'] if job[-2] == 'finished'), state['detail']
