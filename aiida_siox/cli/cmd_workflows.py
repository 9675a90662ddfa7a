"""``siox rerun-failed`` and ``siox realign``: acting on finished runs without recomputing what they finished."""

from __future__ import annotations

import sys

import click

from aiida_siox.cli.params import PROFILE, exits_on, load_node_or_fail, load_workflow_or_fail
from aiida_siox.cli.root import siox


@siox.command('rerun-failed')
@click.argument('identifier')
@click.option('--walltime', type=int, default=None, help='New max_wallclock_seconds for the rerun sites.')
@click.option('--mixing-beta', type=float, default=None, help='New pw.x mixing_beta for the rerun sites.')
@click.option('--max-concurrent-sites', type=int, default=None, help='New per-structure site throttle.')
@click.option('--dry-run', is_flag=True, help='Only say what would be rerun.')
@PROFILE
def rerun_failed_command(identifier, walltime, mixing_beta, max_concurrent_sites, dry_run):
    """Rerun only the failed sites of a SiteXanesWorkChain, or of every one under a structure or dataset workchain.

    Finished sites are handed over unchanged (same nodes, never recomputed) and the ground-state
    SCF is reused; the new workchain's outputs are the union. Submitted to the daemon.
    """
    from aiida_siox.workflows.rerun_failed import missing_sites, rerun_overrides, runs_to_rerun, submit_reruns

    node = load_workflow_or_fail(identifier)
    runs, skipped = runs_to_rerun(node)
    for reason in skipped:
        click.secho(f'Skipped: {reason}', fg='yellow')
    if not runs:
        click.echo(f'Nothing to rerun under {node.process_label}<{node.pk}>: no terminated XANES run has missing sites.')
        sys.exit(0 if not skipped else 1)
    if dry_run:
        for run in runs:
            click.echo(f'would rerun sites {missing_sites(run)} of SiteXanesWorkChain<{run.pk}>')
        return
    submit_reruns(runs, rerun_overrides(mixing_beta, walltime), max_concurrent_sites, echo=click.echo)
    click.echo(f'Follow with `siox status {node.pk}`; make sure the daemon runs (`verdi daemon start`).')


@siox.command('realign')
@click.argument('identifier')
@click.option('--calibration', default=None, help='PK/UUID of a calibration to use (default: realign the one the run used).')
@PROFILE
@exits_on(ValueError)
def realign_command(identifier, calibration):
    """Re-align the spectra of a run made before xspectra's energy zero was part of the alignment.

    IDENTIFIER is a dataset, structure or SiteXanesWorkChain. Nothing is recomputed: calcfunctions
    make each site's alignment from its stored Delta-SCF and xspectra output, a new calibration
    from the stored quartz spectrum, and new aligned spectra; the old ones are marked superseded,
    so `siox dataset assemble` and `siox provenance` use the new ones.
    """
    from aiida_siox.workflows.alignment import realign

    node = load_node_or_fail(identifier)
    given = load_node_or_fail(calibration) if calibration else None
    replaced = realign(node, given, echo=click.echo)
    if not replaced:
        click.echo(f"<{node.pk}>: every spectrum is already aligned with xspectra's energy zero; nothing to do")
        return
    click.echo(f'{len(replaced)} spectra re-aligned; `siox dataset assemble {node.pk}` builds the dataset from them')
