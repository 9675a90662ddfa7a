"""The production profile for real: PostgreSQL storage + RabbitMQ broker + daemon, then cleaned up.

Runs `siox setup --production` twice (idempotence), submits a real LAMMPS melt-quench through the
daemon with `verdi run workchains/submit_structures.py`, and deletes the profile and its database.
The services are those of the machine (127.0.0.1:5432 trust auth, 127.0.0.1:5672 guest/guest).
"""

import os
import pathlib
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.services

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


@pytest.fixture
def production_profile(tmp_path):
    """An isolated AiiDA config dir and a unique profile name; profile, daemon and database removed after."""
    name = f'siox-prod-{uuid.uuid4().hex[:8]}'
    env = {**os.environ, 'AIIDA_PATH': str(tmp_path), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}

    def sh(*args, check=True, timeout=600):
        result = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f'{" ".join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
        return result

    yield name, sh
    sh(BIN / 'verdi', '-p', name, 'daemon', 'stop', check=False)
    sh(BIN / 'verdi', 'profile', 'delete', '--force', '--delete-data', name, check=False)
    import psycopg

    with psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'DROP USER IF EXISTS "{name.replace("-", "_")}"')


def test_production_profile_runs_a_workflow_through_the_daemon(production_profile):
    name, sh = production_profile
    first = sh(BIN / 'siox', 'setup', '--production', '--profile', name, '--no-pseudos')
    assert 'created (core.psql_dos + core.rabbitmq)' in first.stdout
    assert 'code pw@localhost: created' in first.stdout
    from aiida_siox.cli.setup import rabbitmq_consumer_timeout_ms

    timeout = rabbitmq_consumer_timeout_ms()  # this server's value, read with rabbitmqctl as setup reads it
    expected = {None: 'consumer_timeout: not readable', 'off': 'consumer_timeout: off'}.get(
        timeout
    ) or f'consumer_timeout is {timeout / 60000:.0f} min'
    assert expected in first.stdout, (timeout, first.stdout)

    second = sh(BIN / 'siox', 'setup', '--production', '--profile', name, '--no-pseudos')
    assert 'created' not in second.stdout  # idempotent: nothing is made twice
    assert second.stdout.count(': exists') == 1 + 1 + 6  # profile, computer, six codes

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
