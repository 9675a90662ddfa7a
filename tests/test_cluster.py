"""The cluster path for real: SSH (core.ssh) to sshd on 127.0.0.1 and SLURM (core.slurm) on this machine.

`setup_profiles/cluster.sh start` brings up munged, slurmctld, slurmd and an sshd that only accepts
the key it made; `siox setup cluster` registers the computer and codes from
aiida_siox/setup/configs/computers/cluster.yaml. Jobs are real pw.x runs submitted with sbatch over SSH.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import threading
import time

import pytest
import yaml
from aiida import orm
from click.testing import CliRunner
from local_runner import run_get_node

from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.cli import siox
from aiida_siox.protocols import concurrency
from aiida_siox.setup.cluster import JOB_OPTIONS_PROPERTY, read_cluster_config, setup_cluster
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain
from aiida_siox.workflows.scf_inputs import pw_base_inputs
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

pytestmark = pytest.mark.slurm

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLUSTER_CONFIG = ROOT / 'aiida_siox' / 'setup' / 'configs' / 'computers' / 'cluster.yaml'


def start_cluster() -> None:
    """The single-node cluster of setup_profiles/cluster.sh (idempotent: a running one is left as is)."""
    result = subprocess.run([ROOT / 'setup_profiles' / 'cluster.sh', 'start'], capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, f'cluster.sh start failed:\n{result.stdout}\n{result.stderr}'


def squeue(*args: str) -> list[str]:
    return subprocess.run(['squeue', '-h', *args], capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture(scope='module')
def cluster(siox_setup):
    start_cluster()
    computer, codes = setup_cluster(read_cluster_config(CLUSTER_CONFIG), print)
    return {'computer': computer, 'codes': codes, 'families': siox_setup['families'], 'local_codes': siox_setup['codes']}


def scf_inputs(cluster, structure: orm.StructureData, label: str) -> dict:
    """The `fast` protocol's XANES ground-state SCF inputs, on the cluster, with the cluster's job options."""
    codes = {**cluster['local_codes'], **{key: cluster['codes'][key] for key in ('pw', 'xspectra', 'pp', 'lmp', 'python')}}
    options = cluster['computer'].get_property(JOB_OPTIONS_PROPERTY)
    builder = SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', options=options['mpi'])
    return pw_base_inputs(builder.scf, structure, label)


def test_setup_cluster_is_idempotent_and_stores_job_options(cluster):
    computer, codes = setup_cluster(read_cluster_config(CLUSTER_CONFIG), print)
    assert computer.pk == cluster['computer'].pk and {c.pk for c in codes.values()} == {c.pk for c in cluster['codes'].values()}
    assert (computer.transport_type, computer.scheduler_type) == ('core.ssh', 'core.slurm')
    options = computer.get_property(JOB_OPTIONS_PROPERTY)
    assert options['mpi']['queue_name'] == 'cpu' and options['training']['queue_name'] == 'gpu'
    assert options['mpi']['resources'] == {'num_machines': 1, 'num_mpiprocs_per_machine': 2}
    # the queue's job slots (cluster.yaml: 2), not cores / ranks of one node, set the `auto` windows
    assert concurrency.job_slots(computer, options['mpi']) == computer.get_property(concurrency.JOB_SLOTS_PROPERTY) == 2


def test_pw_job_runs_through_sbatch_and_parses(cluster):
    results, node = run_get_node(CancelTolerantPwBaseWorkChain, **scf_inputs(cluster, alpha_quartz(), 'quartz_scf'))
    assert node.is_finished_ok, node.exit_message
    job = node.called[-1]
    assert job.computer.label == 'cluster' and job.get_scheduler_state() is not None
    energy = results['output_parameters']['energy']
    assert -4000 < energy < -2500, energy  # quartz, 9 atoms (fast protocol: -3068.5 eV): a parsed number
    script = job.base.repository.get_object_content('_aiidasubmit.sh')
    assert '#SBATCH --partition=cpu' in script and '#SBATCH --ntasks-per-node=2' in script, script
    # SLURM itself knows the job (completed jobs stay listed for MinJobAge = 300 s)
    shown = subprocess.run(['scontrol', 'show', 'job', job.get_job_id()], capture_output=True, text=True, check=True).stdout
    assert 'JobState=COMPLETED' in shown and 'Partition=cpu' in shown, shown


def test_scancelled_job_is_run_again(cluster):
    """A running pw.x job is cancelled with scancel: the handler launches it again and the SCF finishes."""
    supercell = orm.StructureData(ase=alpha_quartz().get_ase().repeat((2, 1, 1)))  # 18 atoms: ~10 s, time to cancel it
    cancelled: list[str] = []
    earlier = {entry.split('|')[0] for entry in squeue('-o', '%i|%M')}  # jobs of someone else: not ours to cancel

    def cancel_first_running_job():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not cancelled:
            running = squeue('-t', 'R', '-o', '%i|%M')
            for entry in running:
                job_id, elapsed = entry.split('|')
                if job_id in earlier:
                    continue
                minutes, seconds = elapsed.split(':')[-2:]
                if 60 * int(minutes) + int(seconds) >= 3:  # running for a few seconds: pw.x is mid-SCF
                    subprocess.run(['scancel', job_id], check=True)
                    cancelled.append(job_id)
                    return
            time.sleep(0.5)

    watcher = threading.Thread(target=cancel_first_running_job, daemon=True)
    watcher.start()
    results, node = run_get_node(CancelTolerantPwBaseWorkChain, **scf_inputs(cluster, supercell, 'cancelled_scf'))
    watcher.join(timeout=10)
    assert cancelled, 'no running job was seen to cancel'
    jobs = sorted(node.called, key=lambda n: n.ctime)
    assert jobs[0].get_job_id() == cancelled[0]
    assert len(jobs) == 2, [(j.pk, j.exit_status) for j in jobs]
    assert jobs[0].is_failed and 'CANCELLED AT' in jobs[0].get_scheduler_stderr()
    assert jobs[1].is_finished_ok and node.is_finished_ok, node.exit_message
    reports = [log.message for log in orm.Log.collection.get_logs_for(node)]
    assert any('cancelled by the scheduler' in message for message in reports), reports
    assert results['output_parameters']['energy'] < 0


@pytest.mark.parametrize(
    'change, expected',
    [
        ({'hostname': 'no-such-host.invalid', 'label': 'bad-host'}, 'cannot connect to'),
        ({'key_filename': '/nonexistent/id_ed25519', 'label': 'bad-key'}, 'key file /nonexistent/id_ed25519 does not exist'),
        ({'executables': {'pw': '/opt/nowhere/pw.x'}, 'label': 'bad-pw'}, 'code pw@bad-pw'),
    ],
    ids=['wrong-hostname', 'missing-key', 'missing-executable'],
)
def test_check_cluster_fails_clearly(cluster, aiida_profile, tmp_path, change, expected):
    config = yaml.safe_load(CLUSTER_CONFIG.read_text())
    executables = {**config['executables'], **change.pop('executables', {})}
    config.update(change, executables=executables)
    path = tmp_path / 'cluster.yaml'
    path.write_text(yaml.safe_dump(config))
    registered = CliRunner().invoke(siox, ['setup', '-p', aiida_profile.name, 'cluster', '--config', str(path)])
    assert registered.exit_code == 0, registered.output
    result = CliRunner().invoke(siox, ['check', 'cluster', config['label'], '-p', aiida_profile.name])
    assert result.exit_code == 1, result.output
    failing = [line for line in result.output.splitlines() if 'FAIL' in line]
    assert failing and expected in failing[0], result.output
    if config['label'] == 'bad-pw':
        assert '/opt/nowhere/pw.x not found' in failing[0] and len(failing) == 1, result.output  # the others pass


def test_check_cluster_passes_on_the_test_cluster(cluster, aiida_profile):
    result = CliRunner().invoke(siox, ['check', 'cluster', 'cluster', '-p', aiida_profile.name])
    assert result.exit_code == 0, result.output
    assert 'all 12 checks passed' in result.output and 'FAIL' not in result.output


def test_cluster_config_errors_name_the_setting(tmp_path):
    path = tmp_path / 'cluster.yaml'
    path.write_text('label: x\nhostname: h\nwork_dir: /w\npartition: cpu\nexecutables: {pw: pw.x}\nqueue: cpu\n')
    from aiida_siox.setup.environment import SetupError

    with pytest.raises(SetupError, match=r"unknown settings \['queue'\]"):
        read_cluster_config(path)
    path.write_text('label: x\nhostname: h\nwork_dir: /w\npartition: cpu\nexecutables: {pw: pw.x}\n')
    with pytest.raises(SetupError, match=r"executables: .* for \['lmp', 'pp', 'python', 'xspectra'\]"):
        read_cluster_config(path)


@pytest.fixture(autouse=True)
def _needs_slurm_tools():
    missing = [tool for tool in ('squeue', 'scancel', 'sbatch') if shutil.which(tool) is None]
    assert not missing, f'{missing} not installed: run setup_profiles/cluster.sh install (or `make test`, which does)'
