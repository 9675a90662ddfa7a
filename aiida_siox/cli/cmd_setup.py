"""``siox setup``, ``siox check cluster``, ``siox recover``, ``siox backup`` and ``siox demo``: what the pipeline runs on."""

from __future__ import annotations

import pathlib
import sys

import click

from aiida_siox.cli.params import PROFILE, exits_on
from aiida_siox.cli.root import siox
from aiida_siox.protocols import PROTOCOLS
from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, SetupError, setup_all

#: The profile to create or reuse: a plain name, since it may not exist yet.
PROFILE_NAME = click.option('-p', '--profile', default=None, help='Profile name (default: from the profile YAML).')
CONFIG_DIR = click.option(
    '--config-dir',
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=DEFAULT_CONFIG_DIR,
    show_default=True,
    help='Folder with profiles/, computers/ and codes/ YAML (default: the ones shipped with the package).',
)


@exits_on(SetupError)
def _setup(profile: str | None, production: bool, config_dir: pathlib.Path, no_pseudos: bool, no_warmup: bool = False) -> dict:
    result = setup_all(config_dir, profile, production, not no_pseudos, click.echo, warm_bader=not no_warmup)
    click.secho(f'Ready: profile {result["profile"]}, codes {", ".join(c.full_label for c in result["codes"].values())}', fg='green')
    return result


@siox.group('setup', invoke_without_command=True)
@PROFILE_NAME
@click.option('--production', is_flag=True, help='PostgreSQL + RabbitMQ profile instead of the embedded SQLite + ZeroMQ one.')
@CONFIG_DIR
@click.option('--no-pseudos', is_flag=True, help='Skip generating the pseudopotential families.')
@click.option('--no-warmup', is_flag=True, help="Skip compiling baderkit's kernels now (the first Bader job then does, ~2 min).")
@click.pass_context
def setup_command(context, profile, production, config_dir, no_pseudos, no_warmup):
    """Create (or reuse) the profile, the localhost computer, the codes and the pseudopotential families.

    `siox setup production` is `siox setup --production`; `siox setup cluster --config FILE` adds an
    SSH + SLURM cluster to the current profile.
    """
    context.obj = {'profile': profile, 'config_dir': config_dir, 'no_pseudos': no_pseudos, 'no_warmup': no_warmup}
    if context.invoked_subcommand is None:
        _setup(profile, production, config_dir, no_pseudos, no_warmup)


@setup_command.command('production')
@click.pass_obj
def setup_production_command(obj):
    """The PostgreSQL + RabbitMQ profile (configs/profiles/production.yaml), computer, codes, pseudos.

    Server settings a long pipeline needs: docs/hpc.md (RabbitMQ consumer_timeout, daemon workers and slots).
    """
    _setup(obj['profile'], True, obj['config_dir'], obj['no_pseudos'], obj['no_warmup'])


@setup_command.command('cluster')
@click.option(
    '--config',
    'config_file',
    type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True),
    required=True,
    help='Cluster YAML: start from aiida_siox/setup/configs/computers/cluster-template.yaml.',
)
@click.pass_obj
@exits_on(SetupError)
def setup_cluster_command(obj, config_file):
    """Register an SSH + SLURM cluster and the pipeline's codes on it (idempotent; connects nowhere).

    Then check it with `siox check cluster LABEL` and submit with
    `verdi run workchains/submit_dataset.py -- --computer LABEL`.
    """
    from aiida import load_profile

    from aiida_siox.setup.cluster import read_cluster_config, setup_cluster

    load_profile(obj['profile'], allow_switch=True)
    computer, codes = setup_cluster(read_cluster_config(config_file), click.echo)
    click.secho(f'Ready: computer {computer.label}, codes {", ".join(c.full_label for c in codes.values())}', fg='green')
    click.echo(f'Check it with `siox check cluster {computer.label}`.')


@siox.group('check')
def check_group():
    """Check that a resource is usable before submitting to it."""


@check_group.command('cluster')
@click.argument('label', default='cluster')
@PROFILE
def check_cluster_command(label):
    """Connect to cluster LABEL: SSH, sbatch/squeue/scancel, partitions, work dir, each code's executable."""
    from aiida_siox.setup.cluster import check_cluster

    checks = check_cluster(label)
    for check in checks:
        click.secho(f'  {"OK  " if check.ok else "FAIL"}  {check.name:<24} {check.detail}', fg=None if check.ok else 'red')
    failed = [check.name for check in checks if not check.ok]
    if failed:
        click.secho(f'Cluster {label}: {len(failed)} check(s) failed: {", ".join(failed)}', fg='red', err=True)
        sys.exit(1)
    click.secho(f'Cluster {label}: all {len(checks)} checks passed', fg='green')


@siox.command('recover')
@PROFILE
@click.option('--workers', type=int, default=1, show_default=True, help='Daemon workers to start.')
@click.pass_context
@exits_on(RuntimeError)
def recover_command(context, workers):
    """Start the daemon after a crash (killed daemon, reboot): clears stale broker files first.

    Use it instead of `verdi daemon start` after an unclean stop on the embedded (ZeroMQ) profile.
    Processes that were running resume where they were; nothing finished is run again.
    """
    from aiida_siox.setup.daemon_recovery import recover_daemon

    recover_daemon(context.obj.profile.name, workers, click.echo)


@siox.command('backup')
@click.argument('destination', type=click.Path(path_type=pathlib.Path, file_okay=False))
@PROFILE
@click.option('--keep', type=click.IntRange(min=1), default=1, show_default=True, help='Backups to keep in DESTINATION.')
@click.pass_context
@exits_on(RuntimeError, FileNotFoundError)
def backup_command(context, destination, keep):
    """Back up the profile to DESTINATION (`verdi storage backup`), complete also on the embedded profile.

    The embedded profile's SQLite file runs on a write-ahead log, which `verdi storage backup` does
    not copy: this folds the log into the file first, and refuses while the daemon runs.
    """
    from aiida.manage import get_manager

    from aiida_siox.setup.daemon_recovery import daemon_is_alive
    from aiida_siox.setup.sqlite_journal import checkpoint

    profile = context.obj.profile
    if daemon_is_alive(profile.name):
        raise RuntimeError(f'the daemon of {profile.name} is running: stop it first (`verdi -p {profile.name} daemon stop`)')
    storage = get_manager().get_profile_storage()
    if profile.storage_backend == 'core.sqlite_dos':
        storage.get_session().commit()  # this process holds no read transaction while the log is folded in
        checkpoint(storage.filepath_database)
        click.echo(f'Write-ahead log of {profile.name} folded into {storage.filepath_database.name}')
    storage.backup(str(destination), keep=keep)
    click.secho(f'Backup of {profile.name} written to {destination}', fg='green')


@siox.command('demo')
@click.option('-p', '--profile', default=None, help='Profile (default: the embedded profile `siox`, created if missing).')
@click.option('--compositions', default='0,1,2', show_default=True, help='Comma-separated x values.')
@click.option('--seeds', default='1', show_default=True, help='Comma-separated seeds.')
@click.option('--protocol', default='fast', show_default=True, type=click.Choice(PROTOCOLS))
@click.option(
    '--output', type=click.Path(path_type=pathlib.Path, file_okay=False), default=pathlib.Path('siox-demo-report'), show_default=True
)
@click.option('--max-structures', type=click.IntRange(min=1), default=None, help="Structures in flight at once (default: the protocol's).")
@click.option(
    '--max-sites', type=click.IntRange(min=1), default=None, help="Sites of one structure in flight at once (default: the protocol's)."
)
@CONFIG_DIR
def demo_command(profile, compositions, seeds, protocol, output, max_structures, max_sites, config_dir):
    """Run the whole pipeline at toy scale through the daemon, then write a report."""
    from aiida_siox.cli.demo import run_demo

    result = _setup(profile, False, config_dir, False)
    xs = [float(x) for x in compositions.split(',')]
    seed_list = [int(s) for s in seeds.split(',')]
    overrides: dict = {}
    if max_structures is not None:
        overrides['max_concurrent_structures'] = max_structures
    if max_sites is not None:
        overrides['structure'] = {'xanes': {'max_concurrent_sites': max_sites}}
    ok = run_demo(result['profile'], result['codes'], xs, seed_list, protocol, output, click.echo, overrides=overrides or None)
    sys.exit(0 if ok else 1)
