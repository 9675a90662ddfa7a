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


@siox.command('structures')
@click.argument('identifier')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def structures_command(identifier, profile):
    """Table of melt-quenched structures: composition, seed, density, coordination fractions, status.

    IDENTIFIER is a group label (as made by workchains/submit_structures.py) or the pk/UUID of a
    workchain whose descendants include melt-quenches (e.g. a SiOxDatasetWorkChain).
    """
    from aiida import load_profile
    from tabulate import tabulate

    from aiida_siox.cli.structures import COLUMNS, melt_quench_nodes, structure_rows

    load_profile(profile, allow_switch=True)
    try:
        nodes = melt_quench_nodes(identifier)
    except Exception as exception:  # any lookup failure means a wrong identifier
        click.secho(f'Error: no group or workchain {identifier!r}: {exception}', fg='red', err=True)
        sys.exit(1)
    if not nodes:
        click.secho(f'No melt-quench workchains in {identifier!r}.', fg='yellow', err=True)
        sys.exit(1)
    rows = structure_rows(nodes)
    click.echo(tabulate([[row[c] for c in COLUMNS] for row in rows], headers=COLUMNS))
    click.echo('density in g/cm3, distances in A; Si<n>+: fraction of Si with n O neighbours; fourfold: fraction of Si with 4 neighbours')


@siox.group('dataset')
def dataset_group():
    """Export a dataset to .npz/.csv, or import (and validate) a table of your own."""


@dataset_group.command('export')
@click.argument('identifier')
@click.option('-o', '--output', type=click.Path(path_type=pathlib.Path, dir_okay=False), required=True, help='File: .npz or .csv.')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def dataset_export(identifier, output, profile):
    """Write the dataset of IDENTIFIER (a dataset node or a SiOxDatasetWorkChain, pk or UUID) to a file."""
    from aiida import load_profile

    from aiida_siox.cli.dataset_io import export_dataset

    load_profile(profile, allow_switch=True)
    try:
        n_rows = export_dataset(identifier, output)
    except Exception as exception:  # a wrong identifier or file name: say which
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    click.echo(f'{n_rows} rows written to {output}')


@dataset_group.command('import')
@click.argument('path', type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True))
@click.option('--label', default=None, help='Label of the new dataset node.')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def dataset_import(path, label, profile):
    """Validate a table (.npz or .csv in the export format) and store it as a dataset node."""
    from aiida import load_profile

    from aiida_siox.analysis.dataset_table import DatasetFormatError
    from aiida_siox.cli.dataset_io import import_dataset

    load_profile(profile, allow_switch=True)
    try:
        node = import_dataset(path, label)
    except DatasetFormatError as exception:
        click.secho(f'Error: {path} is not a valid dataset: {exception}', fg='red', err=True)
        sys.exit(1)
    click.echo(f'Stored dataset ArrayData<{node.pk}> ({len(node.get_array("charge"))} rows) from {path}')
