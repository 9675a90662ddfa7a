"""A SLURM cluster reached over SSH: register it from a YAML file (`siox setup cluster`) and check it (`siox check cluster`).

The YAML (see ``aiida_siox/setup/configs/computers/cluster-template.yaml``) holds what a user knows of their
cluster: host, user, key, partitions, account, module lines and executables. It becomes one
``core.ssh`` + ``core.slurm`` computer, its SSH configuration, and the pipeline's codes on it. The
job options (partition, account, cores per node, the GPU partition's directives) are stored on the
computer (property ``siox_job_options``), so that ``workchains/submit_dataset.py --computer LABEL``
sends every job to the right partition without the user repeating them.
"""

from __future__ import annotations

import getpass
import pathlib
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from aiida_siox.protocols.concurrency import JOB_SLOTS_PROPERTY
from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, SetupError, read_config

#: Property of the computer that holds the job options for submit_dataset.py.
JOB_OPTIONS_PROPERTY = 'siox_job_options'
#: Pipeline codes on a cluster: key -> (label, module group). ld1.x is not needed there (the pseudopotentials are data).
CLUSTER_CODES = {
    'pw': ('pw', 'qe'),
    'xspectra': ('xspectra', 'qe'),
    'pp': ('pp', 'qe'),
    'lmp': ('lmp', 'lammps'),
    'python': ('siox-python', 'python'),
}
REQUIRED = ('label', 'hostname', 'work_dir', 'partition', 'executables')
DEFAULTS = {
    'port': 22,
    'username': '{username}',
    'key_filename': None,
    'key_policy': 'RejectPolicy',
    'safe_interval': 10.0,
    'poll_interval': 30.0,
    'mpirun_command': 'srun -n {tot_num_mpiprocs}',
    'mpiprocs_per_machine': 1,
    'job_slots': 8,
    'shebang': '#!/bin/bash',
    'prepend_text': '',
    'gpu_partition': None,
    'gpu_directives': [],
    'account': None,
    'max_wallclock_seconds': 3600,
    'modules': {},
    'description': 'SLURM cluster over SSH (aiida-siox)',
}
KEY_POLICIES = ('RejectPolicy', 'WarningPolicy', 'AutoAddPolicy')


def read_cluster_config(path: pathlib.Path) -> dict:
    """The cluster YAML with defaults filled in; unknown or missing keys are refused by name."""
    try:
        raw = yaml.safe_load(pathlib.Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exception:
        raise SetupError(f'cannot read the cluster configuration {path}: {exception}') from exception
    if not isinstance(raw, dict):
        raise SetupError(f'{path}: expected a mapping of settings, got {type(raw).__name__}')
    unknown = set(raw) - set(REQUIRED) - set(DEFAULTS)
    if unknown:
        raise SetupError(f'{path}: unknown settings {sorted(unknown)}; known: {sorted({*REQUIRED, *DEFAULTS})}')
    missing = [key for key in REQUIRED if raw.get(key) in (None, '')]
    if missing:
        raise SetupError(f'{path}: missing settings {missing} (see aiida_siox/setup/configs/computers/cluster-template.yaml)')
    config = {**DEFAULTS, **raw}
    absent = sorted(set(CLUSTER_CODES) - set(config['executables']))
    if absent:
        raise SetupError(f'{path}: executables: give a path or a name (found after the module lines) for {absent}')
    if config['key_policy'] not in KEY_POLICIES:
        raise SetupError(f'{path}: key_policy must be one of {KEY_POLICIES}, got {config["key_policy"]!r}')
    unknown_modules = set(config['modules']) - {group for _, group in CLUSTER_CODES.values()}
    if unknown_modules:
        raise SetupError(f'{path}: modules: unknown groups {sorted(unknown_modules)}; known: qe, lammps, python')
    config['username'] = config['username'].format(username=getpass.getuser())
    if config['key_filename']:
        config['key_filename'] = str(pathlib.Path(config['key_filename']).expanduser())
    config['executables'] = {key: str(value).format(python=sys.executable) for key, value in config['executables'].items()}
    return config


def job_options(config: dict) -> dict:
    """Job options per kind of job: ``mpi`` (pw.x, xspectra.x, pp.x, lmp), ``serial`` (Bader) and ``training`` (GPU)."""
    common = {'max_wallclock_seconds': int(config['max_wallclock_seconds']), 'queue_name': config['partition']}
    if config['account']:
        common['account'] = config['account']
    mpi = {**common, 'withmpi': True, 'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': int(config['mpiprocs_per_machine'])}}
    serial = {**common, 'withmpi': False, 'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}
    training = dict(serial)
    if config['gpu_partition']:
        training['queue_name'] = config['gpu_partition']
    directives = config['gpu_directives']
    if directives:
        training['custom_scheduler_commands'] = '\n'.join([directives] if isinstance(directives, str) else directives)
    return {'mpi': mpi, 'serial': serial, 'training': training}


def setup_cluster(config: dict, echo: Callable[[str], None]):
    """Create (or reuse) the computer, its SSH configuration and the codes; returns (computer, codes).

    Nothing connects here: ``siox check cluster`` does (a user may register before copying the key).
    """
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    label = config['label']
    try:
        computer = orm.load_computer(label)
        if (computer.hostname, computer.transport_type, computer.scheduler_type) != (config['hostname'], 'core.ssh', 'core.slurm'):
            raise SetupError(
                f'computer {label} exists as {computer.hostname} ({computer.transport_type} + {computer.scheduler_type}): '
                f'choose another label, or remove it with `verdi computer delete {label}`'
            )
        echo(f'  computer {label}: exists ({computer.hostname}, core.ssh + core.slurm)')
    except NotExistent:
        computer = orm.Computer(
            label=label,
            hostname=config['hostname'],
            description=config['description'],
            transport_type='core.ssh',
            scheduler_type='core.slurm',
            workdir=config['work_dir'],
        ).store()
        computer.set_mpirun_command(shlex.split(config['mpirun_command']))
        computer.set_default_mpiprocs_per_machine(int(config['mpiprocs_per_machine']))
        computer.set_shebang(config['shebang'])
        computer.set_prepend_text(config['prepend_text'])
        computer.set_minimum_job_poll_interval(float(config['poll_interval']))
        echo(f'  computer {label}: created ({config["hostname"]}, core.ssh + core.slurm)')
    computer.set_property(JOB_OPTIONS_PROPERTY, job_options(config))
    computer.set_property(JOB_SLOTS_PROPERTY, int(config['job_slots']))
    user = orm.User.collection.get_default()
    if computer.is_user_configured(user):
        echo(f'  computer {label}: SSH configured')
    else:
        settings = {
            'username': config['username'],
            'port': int(config['port']),
            'look_for_keys': not config['key_filename'],
            'key_policy': config['key_policy'],
            'safe_interval': float(config['safe_interval']),
            'timeout': 30,
        }
        if config['key_filename']:
            settings['key_filename'] = config['key_filename']
        computer.configure(user=user, **settings)
        echo(f'  computer {label}: SSH configured for {config["username"]}@{config["hostname"]}:{config["port"]}')

    codes = {}
    for key, (code_label, group) in CLUSTER_CODES.items():
        try:
            code = orm.load_code(f'{code_label}@{label}')
            echo(f'  code {code.full_label}: exists')
        except NotExistent:
            local = read_config(DEFAULT_CONFIG_DIR, 'codes', code_label)
            module_lines = config['modules'].get(group, '') or ''
            code = orm.InstalledCode(
                label=code_label,
                computer=computer,
                filepath_executable=config['executables'][key],
                default_calc_job_plugin=local['default_calc_job_plugin'],
                with_mpi=local['with_mpi'],
                prepend_text=module_lines,
            ).store()
            echo(f'  code {code.full_label}: created ({config["executables"][key]})')
        codes[key] = code
    return computer, codes


@dataclass
class Check:
    """One line of `siox check cluster`."""

    name: str
    ok: bool
    detail: str


def check_cluster(label: str) -> list[Check]:
    """Connect to the cluster and check SSH, SLURM (sbatch, squeue, the partitions), the work dir and each code.

    Stops after the first failure that makes the later checks meaningless (no computer, no connection).
    """
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    checks: list[Check] = []
    try:
        computer = orm.load_computer(label)
    except NotExistent:
        return [Check('computer', False, f'no computer {label!r}: register it with `siox setup cluster --config FILE`')]
    user = orm.User.collection.get_default()
    if not computer.is_user_configured(user):
        return [Check('computer', False, f'{label} is not configured for {user.email}: run `siox setup cluster --config FILE` again')]
    auth = computer.get_authinfo(user).get_auth_params()
    key = auth.get('key_filename')
    if key and not pathlib.Path(key).expanduser().is_file():
        return [Check('ssh key', False, f'key file {key} does not exist (key_filename in the cluster YAML)')]
    address = f'{auth.get("username")}@{computer.hostname}:{auth.get("port", 22)}'
    try:
        transport = computer.get_transport(user)
        transport.open()
    except Exception as exception:  # paramiko/socket raise many kinds: the message is what the user needs
        return [Check('ssh', False, f'cannot connect to {address}: {type(exception).__name__}: {exception}')]
    try:  # opened above to report a refused connection by itself; `with` would then leave it open
        checks.append(Check('ssh', True, f'connected to {address}'))
        for command in ('sbatch', 'squeue', 'scancel'):
            status, stdout, _ = transport.exec_command_wait(f'command -v {command}')
            checks.append(Check(command, status == 0, stdout.strip() or f'`{command}` not found on the PATH of a login shell'))
        options = computer.get_property(JOB_OPTIONS_PROPERTY, {})
        status, stdout, stderr = transport.exec_command_wait('sinfo -h -o %P')
        partitions = {p.strip().rstrip('*') for p in stdout.split()} if status == 0 else set()
        for kind in ('mpi', 'training'):
            partition = options.get(kind, {}).get('queue_name')
            if partition:
                found = partition in partitions
                detail = f'partition {partition!r} ' + (
                    'exists' if found else f'not found (sinfo lists {sorted(partitions)}) {stderr.strip()}'
                )
                checks.append(Check(f'partition ({kind})', found, detail.strip()))
        workdir = computer.get_workdir().format(username=auth.get('username') or transport.whoami())
        probe = f'{workdir}/.siox-check'
        status, _, stderr = transport.exec_command_wait(
            f'mkdir -p {shlex.quote(workdir)} && touch {shlex.quote(probe)} && rm {shlex.quote(probe)}'
        )
        checks.append(Check('work dir', status == 0, f'{workdir} writable' if status == 0 else f'{workdir} not writable: {stderr.strip()}'))
        for code in orm.QueryBuilder().append(orm.InstalledCode, filters={'dbcomputer_id': computer.pk}).all(flat=True):
            executable = str(code.filepath_executable)
            script = f'{computer.get_prepend_text()}\n{code.prepend_text}\ncommand -v {shlex.quote(executable)}'
            status, stdout, stderr = transport.exec_command_wait(f'bash -c {shlex.quote(script)}')
            found = status == 0 and bool(stdout.strip())
            detail = (
                f'{executable} -> {stdout.strip()}' if found else f"{executable} not found (after the code's module lines) {stderr.strip()}"
            )
            checks.append(Check(f'code {code.full_label}', found, detail.strip()))
    finally:
        transport.close()
    return checks
