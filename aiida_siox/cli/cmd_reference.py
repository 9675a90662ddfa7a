"""``siox reference import``: the reference study (``reference_study/``) with its whole provenance, in this profile."""

from __future__ import annotations

import click

from aiida_siox.cli.params import PROFILE, fail
from aiida_siox.cli.root import siox


@siox.group('reference')
def reference_group():
    """The shipped reference study: its model (what `siox predict` uses without --model) and its graph."""


@reference_group.command('import')
@PROFILE
def reference_import_command():
    """Import every archive of the reference study: the calibration, the 45 cells, the trainings.

    `siox predict` imports only the trainings (with the dataset they read) on first use. This brings
    the rest: each row's structure, melt-quench, seed, XANES jobs and Bader job, so that `siox provenance`
    answers for any spectrum of reference_study/dataset.npz. Archives already imported are skipped.
    """
    from aiida_siox.reference_model import ReferenceModelMissing, import_reference_study

    try:
        imported = import_reference_study(echo=click.echo)
    except ReferenceModelMissing as exception:
        fail(str(exception))
    click.echo(f'{imported} archive(s) imported' if imported else 'nothing to import: the whole study is in this profile')
