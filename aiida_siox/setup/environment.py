"""Idempotent set-up of profile, computer, codes and pseudopotential families from the YAML in ``configs/``."""

from __future__ import annotations

import getpass
import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import resources

import yaml

#: The YAML shipped with the package (profiles/, computers/, codes/): an installed wheel sets itself up.
DEFAULT_CONFIG_DIR = pathlib.Path(str(resources.files('aiida_siox.setup') / 'configs'))
#: Codes of the pipeline: key used by the builders -> YAML file in configs/codes/.
CODE_FILES = {'lmp': 'lmp', 'pw': 'pw', 'xspectra': 'xspectra', 'pp': 'pp', 'ld1': 'ld1', 'python': 'siox-python'}
#: Codes the pipeline's builders take (ld1.x only makes the pseudopotentials, on localhost).
PIPELINE_CODES = ('lmp', 'pw', 'xspectra', 'pp', 'python')


class SetupError(Exception):
    """A set-up step cannot be done; the message says what to do."""


def load_pipeline_codes(computer: str = 'localhost') -> dict:
    """The pipeline's codes on ``computer``, keyed as the builders take them (labels as `siox setup [cluster]` makes them)."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        return {key: orm.load_code(f'{CODE_FILES[key]}@{computer}') for key in PIPELINE_CODES}
    except NotExistent as exception:
        raise SetupError(f'{exception}: run `siox setup` (localhost) or `siox setup cluster --config FILE` first') from exception


def read_config(config_dir: pathlib.Path, kind: str, name: str) -> dict:
    path = config_dir / kind / f'{name}.yaml'
    if not path.exists():
        raise SetupError(f'{path} not found: --config-dir must hold profiles/, computers/ and codes/ as aiida_siox/setup/configs/ does')
    return yaml.safe_load(path.read_text())


def verdi(*args: str) -> subprocess.CompletedProcess:
    """Run ``verdi`` of this environment."""
    bindir = pathlib.Path(sys.executable).parent
    # The daemon re-invokes `verdi` by name: it must be on PATH even when the venv is not activated.
    env = {**os.environ, 'PATH': f'{bindir}{os.pathsep}{os.environ.get("PATH", "")}'}
    return subprocess.run([str(bindir / 'verdi'), *args], capture_output=True, text=True, check=False, env=env)


def create_postgres_database(pg: dict, name: str) -> tuple[str, str]:
    """Create a database user and database ``name`` (idempotent); return (user, password).

    ``verdi presto --use-postgres`` hard-codes the en_US.UTF-8 locale, which many servers lack
    (Debian's default cluster here is C.UTF-8): the database is created with the server's default
    locale instead, from template0.
    """
    import secrets

    import psycopg
    from psycopg import sql

    user, password = name.replace('-', '_'), secrets.token_hex(12)
    dsn = f'host={pg["hostname"]} port={pg["port"]} user={pg["username"]} password={pg["password"]} dbname=postgres'
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            roles = connection.execute('SELECT 1 FROM pg_roles WHERE rolname = %s', (user,)).fetchall()
            verb = 'ALTER' if roles else 'CREATE'
            connection.execute(f'{verb} USER "{user}" WITH PASSWORD {sql.quote(password)}')
            if not connection.execute('SELECT 1 FROM pg_database WHERE datname = %s', (name,)).fetchall():
                connection.execute(f'CREATE DATABASE "{name}" OWNER "{user}" ENCODING \'UTF8\' TEMPLATE template0')
    except psycopg.Error as exception:
        raise SetupError(f'cannot create the PostgreSQL database on {pg["hostname"]}:{pg["port"]}: {exception}') from exception
    return user, password


def production_profile_arguments(config: dict, name: str) -> list[str]:
    """`verdi profile setup core.psql_dos` arguments for a fresh database and the RabbitMQ broker."""
    from aiida.manage.configuration.settings import AiiDAConfigPathResolver

    pg = config['postgres']
    user, password = create_postgres_database(pg, name)
    repository = AiiDAConfigPathResolver().aiida_path / 'repository' / name
    return [
        'profile', 'setup', 'core.psql_dos', '--non-interactive', '--profile-name', name, '--email', config['email'],
        '--first-name', 'SiOx', '--last-name', 'User', '--institution', 'aiida-siox',
        '--database-hostname', pg['hostname'], '--database-port', str(pg['port']), '--database-username', user,
        '--database-password', password, '--database-name', name, '--repository-uri', f'file://{repository}',
        '--broker', 'core.rabbitmq',
    ]  # fmt: skip


def broker_arguments(rabbitmq: dict, name: str) -> list[str]:
    """`verdi profile configure-broker` arguments for the RabbitMQ server of the production YAML."""
    return [
        'profile', 'configure-broker', 'core.rabbitmq', name, '--non-interactive', '--force',
        '--broker-protocol', rabbitmq.get('protocol', 'amqp'), '--broker-host', rabbitmq['host'],
        '--broker-port', str(rabbitmq['port']), '--broker-username', rabbitmq['username'],
        '--broker-password', rabbitmq['password'], '--broker-virtual-host', rabbitmq.get('virtual_host', ''),
    ]  # fmt: skip


def run_verdi(*args: str) -> None:
    """Run ``verdi *args``; a failure raises SetupError with its output (passwords hidden)."""
    result = verdi(*args)
    if result.returncode != 0:
        hidden = ('--database-password', '--broker-password')
        shown = ' '.join('***' if previous in hidden else arg for previous, arg in zip(['', *args], args, strict=True))
        raise SetupError(f'`verdi {shown}` failed:\n{result.stdout}{result.stderr}')


def ensure_profile(config_dir: pathlib.Path, name: str | None, production: bool, echo: Callable[[str], None]) -> str:
    """Create the embedded (SQLite + ZeroMQ) or production (PostgreSQL + RabbitMQ) profile if missing; load it."""
    from aiida import load_profile
    from aiida.manage.configuration import get_config, reset_config

    config = read_config(config_dir, 'profiles', 'production' if production else 'embedded')
    name = name or config['profile']
    if name in get_config(create=True).profile_names:
        echo(f'  profile {name}: exists')
    else:
        if production:
            args = production_profile_arguments(config, name)
        else:
            args = ['presto', '--profile-name', name, '--email', config['email'], '--use-zeromq']
        run_verdi(*args)
        if production:
            run_verdi(*broker_arguments(config['rabbitmq'], name))
        echo(f'  profile {name}: created ({config["storage"]} + {config["broker"]})')
        reset_config()  # the config file changed on disk under this process
    ensure_runner_poll_interval(name, int(config['runner_poll_interval']), echo)
    profile = get_config().get_profile(name)
    if profile.storage_backend == 'core.sqlite_dos':  # before this process opens the database
        from aiida.storage.sqlite_dos.backend import FILENAME_DATABASE

        from aiida_siox.setup.sqlite_journal import use_write_ahead_log

        try:
            mode, why = use_write_ahead_log(pathlib.Path(profile.storage_config['filepath']) / FILENAME_DATABASE)
        except FileNotFoundError as error:
            raise SetupError(f'profile {name}: {error} (its storage folder was moved or deleted)') from error
        echo(f'  profile {name}: SQLite journal {mode} ({why})')
    load_profile(name, allow_switch=True)
    return name


#: ``runner.poll.interval`` as ``verdi presto`` sets it; :func:`ensure_runner_poll_interval` replaces it (and an unset one).
PRESTO_RUNNER_POLL_SECONDS = 1


def ensure_runner_poll_interval(name: str, seconds: int, echo: Callable[[str], None]) -> None:
    """The profile's ``runner.poll.interval``: how often a waiting workchain checks that its child ended, as a
    backup of the broker's broadcast (profiles/*.yaml say why it is not presto's 1 s). Set where presto set 1 s or
    nothing set it; a value a user chose (for the profile or globally) stays. A daemon started before the change
    keeps the old value until restarted."""
    from aiida.manage.configuration import get_config

    config = get_config()
    profile_value = config.get_option('runner.poll.interval', scope=name, default=False)
    if profile_value is None:  # unset for the profile: a global value is the user's
        users_choice = config.get_option('runner.poll.interval', default=False) is not None
    else:
        users_choice = profile_value != PRESTO_RUNNER_POLL_SECONDS
    if users_choice:
        return
    config.set_option('runner.poll.interval', seconds, scope=name)
    config.store()
    echo(f"  profile {name}: a waiting workflow checks its child every {seconds} s besides the broker's message")


def ensure_computer(config_dir: pathlib.Path, echo: Callable[[str], None]):
    """The ``localhost`` computer (core.local + core.direct), configured for the current user.

    ``verdi presto`` (the embedded profile) makes its own ``localhost``: the settings of
    configs/computers/localhost.yaml are applied to it too, the work directory only while no job has used it.
    """
    from aiida import orm

    config = read_config(config_dir, 'computers', 'localhost')
    workdir = config['work_dir'].format(home=pathlib.Path.home())
    try:
        computer = orm.load_computer(config['label'])
        echo(f'  computer {computer.label}: exists ({computer.transport_type} + {computer.scheduler_type})')
    except Exception:  # NotExistent
        computer = orm.Computer(
            label=config['label'],
            hostname=config['hostname'],
            description=config['description'],
            transport_type=config['transport'],
            scheduler_type=config['scheduler'],
            workdir=workdir,
        ).store()
        echo(f'  computer {computer.label}: created')
    apply_computer_settings(computer, config, workdir, echo)
    user = orm.User.collection.get_default()
    login_shell = bool(config.get('use_login_shell', False))
    if not computer.is_user_configured(user):
        computer.configure(safe_interval=0.0, use_login_shell=login_shell)
        echo(f'  computer {computer.label}: configured for {getpass.getuser()}')
    else:
        authinfo = computer.get_authinfo(user)
        parameters = authinfo.get_auth_params()
        if parameters.get('use_login_shell', True) != login_shell:
            authinfo.set_auth_params({**parameters, 'use_login_shell': login_shell})
            echo(f'  computer {computer.label}: use_login_shell set to {login_shell}')
    return computer


def apply_computer_settings(computer, config: dict, workdir: str, echo: Callable[[str], None]) -> None:
    """MPI launcher, MPI ranks per machine, job poll interval and work directory of ``config`` on ``computer``, where
    they differ."""
    from aiida import orm

    from aiida_siox.protocols.concurrency import machine_cores

    mpirun = config['mpirun_command'].split()
    if computer.get_mpirun_command() != mpirun:
        computer.set_mpirun_command(mpirun)
        echo(f'  computer {computer.label}: mpirun command set to {config["mpirun_command"]!r}')
    cores = config['default_mpiprocs_per_machine']
    cores = machine_cores() if cores == 'auto' else int(cores)
    if computer.get_default_mpiprocs_per_machine() != cores:
        computer.set_default_mpiprocs_per_machine(cores)
        echo(f'  computer {computer.label}: {cores} MPI ranks per machine by default (its cores)')
    poll_interval = float(config.get('poll_interval', computer.get_minimum_job_poll_interval()))
    if computer.get_minimum_job_poll_interval() != poll_interval:
        computer.set_minimum_job_poll_interval(poll_interval)
        echo(f'  computer {computer.label}: asks the scheduler every {poll_interval:g} s whether a job has ended')
    if computer.get_workdir() != workdir:
        used = orm.QueryBuilder().append(orm.CalcJobNode, filters={'dbcomputer_id': computer.pk}).count()
        if used:
            echo(f'  computer {computer.label}: keeps its work directory {computer.get_workdir()} ({used} jobs ran there)')
        else:
            computer.set_workdir(workdir)
            echo(f'  computer {computer.label}: work directory {workdir}')


def ensure_codes(config_dir: pathlib.Path, computer, echo: Callable[[str], None]) -> dict:
    """One InstalledCode per pipeline program; a missing executable names its Debian package, a pw.x on the
    reference BLAS gets a warning (setup/blas_check.py)."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    from aiida_siox.setup.blas_check import blas_note

    codes, missing = {}, []
    for name, filename in CODE_FILES.items():
        config = read_config(config_dir, 'codes', filename)
        executable = config['executable'].format(python=sys.executable)
        path = shutil.which(executable)
        if path is None:
            missing.append(f'{executable} (install the Debian package `{config["debian_package"]}`)')
            continue
        try:
            code = orm.load_code(f'{config["label"]}@{computer.label}')
            echo(f'  code {code.full_label}: exists')
        except NotExistent:
            code = orm.InstalledCode(
                label=config['label'],
                computer=computer,
                filepath_executable=path,
                default_calc_job_plugin=config['default_calc_job_plugin'],
                with_mpi=config['with_mpi'],
                prepend_text=config.get('prepend_text', ''),
            ).store()
            echo(f'  code {code.full_label}: created ({path})')
        codes[name] = code
    if missing:
        raise SetupError('executables not found on PATH:\n  ' + '\n  '.join(missing))
    note = blas_note(codes['pw'].filepath_executable.as_posix()) if computer.transport_type == 'core.local' else None
    if note:
        echo(f'  warning: {note}')
    return codes


def rabbitmq_consumer_timeout_ms() -> int | str | None:
    """The local RabbitMQ server's ``consumer_timeout`` in ms, ``'off'``, or None when it cannot be read.

    Only readable with ``rabbitmqctl`` on this machine (as root or the rabbitmq user); a remote
    broker's setting is not visible to its clients.
    """
    if shutil.which('rabbitmqctl') is None:
        return None
    try:
        result = subprocess.run(
            ['rabbitmqctl', 'eval', 'application:get_env(rabbit, consumer_timeout).'], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.strip().splitlines()[-1] if result.returncode == 0 and result.stdout.strip() else ''
    if value in ('undefined', '{ok,undefined}'):
        return 'off'
    if value.startswith('{ok,') and value[4:-1].isdigit():
        return int(value[4:-1])
    return None


def warn_about_consumer_timeout(echo: Callable[[str], None]) -> None:
    """Say so when RabbitMQ would re-send the task of a process that runs longer than its consumer_timeout."""
    timeout = rabbitmq_consumer_timeout_ms()
    if timeout is None:
        echo('  RabbitMQ consumer_timeout: not readable here; it must be off or longer than your longest workflow (docs/hpc.md)')
    elif timeout == 'off':
        echo('  RabbitMQ consumer_timeout: off (good for long workflows)')
    else:
        echo(
            f'  WARNING: RabbitMQ consumer_timeout is {timeout / 60000:.0f} min: a workflow running longer may be run twice. '
            "Turn it off: rabbitmqctl eval 'application:set_env(rabbit, consumer_timeout, undefined).' and in the "
            'server config (docs/hpc.md, section 2), then restart the daemon.'
        )


def setup_all(
    config_dir: pathlib.Path,
    profile: str | None,
    production: bool,
    pseudos: bool,
    echo: Callable[[str], None],
    warm_bader: bool = True,
) -> dict:
    """Profile, computer, codes, (optionally) pseudopotential families and baderkit's compiled kernels.

    Safe to run any number of times: what exists is reused.
    """
    echo('Profile')
    name = ensure_profile(config_dir, profile, production, echo)
    if production:
        warn_about_consumer_timeout(echo)
    echo('Computer')
    computer = ensure_computer(config_dir, echo)
    echo('Codes')
    codes = ensure_codes(config_dir, computer, echo)
    if pseudos:
        from aiida_siox.workflows.pseudopotentials import ensure_pseudo_families

        echo('Pseudopotentials (ld1.x)')
        ensure_pseudo_families(codes['ld1'], echo)
    if warm_bader:
        from aiida_siox.setup.bader_warmup import warm_bader_cache

        echo('Bader (numba)')
        warm_bader_cache(codes['python'], echo)
    return {'profile': name, 'computer': computer, 'codes': codes}
