"""The production profile for real: PostgreSQL storage + RabbitMQ broker + daemon, then cleaned up.

Runs `siox setup --production` twice (idempotence), submits a real LAMMPS melt-quench through the
daemon with `verdi run workchains/submit_structures.py`, and deletes the profile and its database.
The services are those of the machine (127.0.0.1:5432 trust auth, 127.0.0.1:5672 guest/guest).
"""

import pathlib
import uuid

import pytest
from service_profiles import BIN, cli_runner, delete_production_profile

pytestmark = pytest.mark.services

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def production_profile(tmp_path):
    """An isolated AiiDA config dir and a unique profile name; profile, daemon and database removed after."""
    name = f'siox-prod-{uuid.uuid4().hex[:8]}'
    sh = cli_runner(tmp_path)
    yield name, sh
    delete_production_profile(sh, name)


def test_production_profile_runs_a_workflow_through_the_daemon(production_profile):
    name, sh = production_profile
    first = sh(BIN / 'siox', 'setup', '--production', '--profile', name, '--no-pseudos')
    assert 'created (core.psql_dos + core.rabbitmq)' in first.stdout
    assert 'code pw@localhost: created' in first.stdout
    from aiida_siox.setup.environment import rabbitmq_consumer_timeout_ms

    timeout = rabbitmq_consumer_timeout_ms()  # this server's value, read with rabbitmqctl as setup reads it
    expected = {None: 'consumer_timeout: not readable', 'off': 'consumer_timeout: off'}.get(
        timeout
    ) or f'consumer_timeout is {timeout / 60000:.0f} min'
    assert expected in first.stdout, (timeout, first.stdout)

    second = sh(BIN / 'siox', 'setup', '--production', '--profile', name, '--no-pseudos')
    assert 'created' not in second.stdout  # idempotent: nothing is made twice
    assert second.stdout.count(': exists') == 1 + 1 + 6  # profile, computer, six codes
    # a waiting workflow's backup check of its child every 10 s (the broker tells it at once), not presto's 1 s
    assert 'checks its child every 10 s' in first.stdout and 'checks its child' not in second.stdout
    assert sh(BIN / 'verdi', '-p', name, 'config', 'get', 'runner.poll.interval').stdout.strip() == '10'

    status = sh(BIN / 'verdi', '-p', name, 'status', check=False).stdout
    assert 'psql' in status.lower() or 'postgres' in status.lower()
    assert 'rabbitmq' in status.lower() or 'amqp' in status.lower()

    sh(BIN / 'verdi', '-p', name, 'daemon', 'start', '2')
    script = ROOT / 'workchains' / 'submit_structures.py'
    group = 'siox/test-production'
    args = ('--compositions', '2.0', '--seeds', '4', '--supercell', '2', '--group', group, '--wait')
    run = sh(BIN / 'verdi', '-p', name, 'run', script, '--', *args, check=False, timeout=900)
    assert run.returncode == 0 and 'failed: none' in run.stdout, run.stdout + run.stderr

    table = sh(BIN / 'siox', 'structures', group, '--profile', name).stdout
    rows = [line for line in table.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    assert len(rows) == 1, table
    row = rows[0]
    assert 'valid' in row and 'INVALID' not in row, table
    density = float(row.split()[4])  # pk x seed formula density ...
    assert 1.5 < density < 3.5

    listing = sh(BIN / 'verdi', '-p', name, 'process', 'list', '-a', '-p', '1').stdout
    assert 'LammpsRawCalculation' in listing and 'Finished [0]' in listing


def test_production_yaml_broker_settings_reach_the_profile(production_profile, tmp_path):
    """The `rabbitmq:` block of production.yaml is applied: a non-default port is the profile's port."""
    import shutil

    import yaml

    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR

    name, sh = production_profile
    config_dir = tmp_path / 'configs'
    shutil.copytree(DEFAULT_CONFIG_DIR, config_dir)
    production = config_dir / 'profiles' / 'production.yaml'
    settings = yaml.safe_load(production.read_text())
    settings['rabbitmq'] = {**settings['rabbitmq'], 'port': 5673, 'virtual_host': 'siox-test'}
    production.write_text(yaml.safe_dump(settings))
    sh(BIN / 'siox', 'setup', '--production', '--profile', name, '--no-pseudos', '--config-dir', config_dir)
    shown = yaml.safe_load(sh(BIN / 'verdi', 'profile', 'show', name).stdout.split('\n', 1)[1])
    broker = shown['process_control']['config']
    assert (broker['broker_port'], broker['broker_virtual_host'], broker['broker_host']) == (5673, 'siox-test', '127.0.0.1')
