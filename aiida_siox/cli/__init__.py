"""The ``siox`` command (verdi-style)."""

from __future__ import annotations

import pathlib
import sys

import click

from aiida_siox.cli.setup import DEFAULT_CONFIG_DIR, SetupError, setup_all


@click.group()
def siox():
    """aiida-siox: ML XANES pipeline for amorphous SiOx on AiiDA."""


@siox.command('setup')
@click.option('-p', '--profile', default=None, help='Profile name (default: from the profile YAML).')
@click.option('--production', is_flag=True, help='PostgreSQL + RabbitMQ profile instead of the embedded SQLite + ZeroMQ one.')
@click.option('--config-dir', type=click.Path(path_type=pathlib.Path, file_okay=False), default=DEFAULT_CONFIG_DIR, show_default=True)
@click.option('--no-pseudos', is_flag=True, help='Skip generating the pseudopotential families.')
def setup_command(profile, production, config_dir, no_pseudos):
    """Create (or reuse) the profile, the localhost computer, the codes and the pseudopotential families."""
    try:
        result = setup_all(config_dir, profile, production, not no_pseudos, click.echo)
    except SetupError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    click.secho(f'Ready: profile {result["profile"]}, codes {", ".join(c.full_label for c in result["codes"].values())}', fg='green')


@siox.command('demo')
@click.option('-p', '--profile', default=None, help='Profile (default: the embedded profile `siox`, created if missing).')
@click.option('--compositions', default='0,1,2', show_default=True, help='Comma-separated x values.')
@click.option('--seeds', default='1', show_default=True, help='Comma-separated seeds.')
@click.option('--protocol', default='fast', show_default=True, type=click.Choice(['fast', 'moderate', 'paper']))
@click.option(
    '--output', type=click.Path(path_type=pathlib.Path, file_okay=False), default=pathlib.Path('siox-demo-report'), show_default=True
)
@click.option('--config-dir', type=click.Path(path_type=pathlib.Path, file_okay=False), default=DEFAULT_CONFIG_DIR, show_default=True)
def demo_command(profile, compositions, seeds, protocol, output, config_dir):
    """Run the whole pipeline at toy scale through the daemon, then write a report."""
    from aiida_siox.cli.demo import run_demo

    try:
        result = setup_all(config_dir, profile, False, True, click.echo)
    except SetupError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    xs = [float(x) for x in compositions.split(',')]
    seed_list = [int(s) for s in seeds.split(',')]
    ok = run_demo(result['profile'], result['codes'], xs, seed_list, protocol, output, click.echo)
    sys.exit(0 if ok else 1)
