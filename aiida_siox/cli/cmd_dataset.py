"""``siox dataset export|assemble|import``: the dataset as a file, again after reruns, or a user's own table."""

from __future__ import annotations

import pathlib

import click

from aiida_siox.cli.params import PROFILE, fail
from aiida_siox.cli.root import siox


@siox.group('dataset')
def dataset_group():
    """Export a dataset to .npz/.csv, or import (and validate) a table of your own."""


@dataset_group.command('export')
@click.argument('identifier')
@click.option('-o', '--output', type=click.Path(path_type=pathlib.Path, dir_okay=False), required=True, help='File: .npz or .csv.')
@PROFILE
def dataset_export(identifier, output):
    """Write the dataset of IDENTIFIER (a dataset node or a SiOxDatasetWorkChain, pk or UUID) to a file."""
    from aiida_siox.cli.dataset_io import export_dataset

    try:
        n_rows = export_dataset(identifier, output)
    except Exception as exception:  # a wrong identifier or file name: say which
        fail(str(exception))
    click.echo(f'{n_rows} rows written to {output}')


@dataset_group.command('assemble')
@click.argument('identifier')
@PROFILE
def dataset_assemble(identifier):
    """Assemble the dataset of a SiOxDatasetWorkChain again, e.g. after `siox rerun-failed`.

    Each structure contributes the spectra of its newest XANES run (first run + reruns).
    """
    from aiida_siox.cli.dataset_io import reassemble_dataset

    try:
        result = reassemble_dataset(identifier)
    except Exception as exception:  # a wrong identifier, or nothing to assemble: say which
        fail(str(exception))
    manifest = result['manifest']
    click.echo(f'dataset ArrayData<{result["dataset"].pk}>: {manifest["n_rows"]} sites, {len(manifest["missing"])} missing')
    for entry in manifest['missing']:
        click.echo(f'  missing: structure {entry["structure"]} site {entry["site"]}: {entry["reason"]}')
    click.echo(f'averages ArrayData<{result["averages"].pk}>; export with `siox dataset export {result["dataset"].pk} -o dataset.npz`')


@dataset_group.command('import')
@click.argument('path', type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True))
@click.option('--label', default=None, help='Label of the new dataset node.')
@PROFILE
def dataset_import(path, label):
    """Validate a table (.npz or .csv in the export format) and store it as a dataset node."""
    from aiida_siox.analysis.dataset_table import DatasetFormatError
    from aiida_siox.cli.dataset_io import import_dataset

    try:
        node = import_dataset(path, label)
    except DatasetFormatError as exception:
        fail(f'{path} is not a valid dataset: {exception}')
    click.echo(f'Stored dataset ArrayData<{node.pk}> ({len(node.get_array("charge"))} rows) from {path}')
