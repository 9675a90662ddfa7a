"""The ``siox`` command (verdi-style)."""

from __future__ import annotations

import pathlib
import sys

import click

from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, SetupError, setup_all


@click.group()
def siox():
    """aiida-siox: ML XANES pipeline for amorphous SiOx on AiiDA."""


def _setup(profile, production, config_dir, no_pseudos):
    try:
        result = setup_all(config_dir, profile, production, not no_pseudos, click.echo)
    except SetupError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    click.secho(f'Ready: profile {result["profile"]}, codes {", ".join(c.full_label for c in result["codes"].values())}', fg='green')


@siox.group('setup', invoke_without_command=True)
@click.option('-p', '--profile', default=None, help='Profile name (default: from the profile YAML).')
@click.option('--production', is_flag=True, help='PostgreSQL + RabbitMQ profile instead of the embedded SQLite + ZeroMQ one.')
@click.option('--config-dir', type=click.Path(path_type=pathlib.Path, file_okay=False), default=DEFAULT_CONFIG_DIR, show_default=True)
@click.option('--no-pseudos', is_flag=True, help='Skip generating the pseudopotential families.')
@click.pass_context
def setup_command(context, profile, production, config_dir, no_pseudos):
    """Create (or reuse) the profile, the localhost computer, the codes and the pseudopotential families.

    `siox setup production` is `siox setup --production`; `siox setup cluster --config FILE` adds an
    SSH + SLURM cluster to the current profile.
    """
    context.obj = {'profile': profile, 'config_dir': config_dir, 'no_pseudos': no_pseudos}
    if context.invoked_subcommand is None:
        _setup(profile, production, config_dir, no_pseudos)


@setup_command.command('production')
@click.pass_obj
def setup_production_command(obj):
    """The PostgreSQL + RabbitMQ profile (aiida_siox/setup/configs/profiles/production.yaml), computer, codes, pseudos.

    Server settings a long pipeline needs: docs/hpc.md (RabbitMQ consumer_timeout, daemon workers and slots).
    """
    _setup(obj['profile'], True, obj['config_dir'], obj['no_pseudos'])


@setup_command.command('cluster')
@click.option(
    '--config',
    'config_file',
    type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True),
    required=True,
    help='Cluster YAML: start from aiida_siox/setup/configs/computers/cluster-template.yaml.',
)
@click.pass_obj
def setup_cluster_command(obj, config_file):
    """Register an SSH + SLURM cluster and the pipeline's codes on it (idempotent; connects nowhere).

    Then check it with `siox check cluster LABEL` and submit with
    `verdi run workchains/submit_dataset.py -- --computer LABEL`.
    """
    from aiida import load_profile

    from aiida_siox.setup.cluster import read_cluster_config, setup_cluster

    load_profile(obj['profile'], allow_switch=True)
    try:
        config = read_cluster_config(config_file)
        computer, codes = setup_cluster(config, click.echo)
    except SetupError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    click.secho(f'Ready: computer {computer.label}, codes {", ".join(c.full_label for c in codes.values())}', fg='green')
    click.echo(f'Check it with `siox check cluster {computer.label}`.')


@siox.group('check')
def check_group():
    """Check that a resource is usable before submitting to it."""


@check_group.command('cluster')
@click.argument('label', default='cluster')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def check_cluster_command(label, profile):
    """Connect to cluster LABEL: SSH, sbatch/squeue/scancel, partitions, work dir, each code's executable."""
    from aiida import load_profile

    from aiida_siox.setup.cluster import check_cluster

    load_profile(profile, allow_switch=True)
    checks = check_cluster(label)
    for check in checks:
        click.secho(f'  {"OK  " if check.ok else "FAIL"}  {check.name:<24} {check.detail}', fg=None if check.ok else 'red')
    failed = [check.name for check in checks if not check.ok]
    if failed:
        click.secho(f'Cluster {label}: {len(failed)} check(s) failed: {", ".join(failed)}', fg='red', err=True)
        sys.exit(1)
    click.secho(f'Cluster {label}: all {len(checks)} checks passed', fg='green')


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


@dataset_group.command('assemble')
@click.argument('identifier')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def dataset_assemble(identifier, profile):
    """Assemble the dataset of a SiOxDatasetWorkChain again, e.g. after `siox rerun-failed`.

    Each structure contributes the spectra of its newest XANES run (first run + reruns).
    """
    from aiida import load_profile

    from aiida_siox.cli.dataset_io import reassemble_dataset

    load_profile(profile, allow_switch=True)
    try:
        result = reassemble_dataset(identifier)
    except Exception as exception:  # a wrong identifier, or nothing to assemble: say which
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    manifest = result['manifest']
    click.echo(f'dataset ArrayData<{result["dataset"].pk}>: {manifest["n_rows"]} sites, {len(manifest["missing"])} missing')
    for entry in manifest['missing']:
        click.echo(f'  missing: structure {entry["structure"]} site {entry["site"]}: {entry["reason"]}')
    click.echo(f'averages ArrayData<{result["averages"].pk}>; export with `siox dataset export {result["dataset"].pk} -o dataset.npz`')


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


def _load_process(identifier: str, profile: str | None):
    """Load the profile and a process node by pk/UUID, or exit with a clear message."""
    from aiida import load_profile, orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    load_profile(profile, allow_switch=True)
    try:
        node = orm.load_node(identifier)
    except (NotExistent, MultipleObjectsError, ValueError) as exception:
        click.secho(f'Error: no node {identifier!r}: {exception}', fg='red', err=True)
        sys.exit(1)
    return node


@siox.command('realign')
@click.argument('identifier')
@click.option('--calibration', default=None, help='PK/UUID of a calibration to use (default: realign the one the run used).')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def realign_command(identifier, calibration, profile):
    """Re-align the spectra of a run made before xspectra's energy zero was part of the alignment.

    IDENTIFIER is a dataset, structure or SiteXanesWorkChain. Nothing is recomputed: calcfunctions
    make each site's alignment from its stored Delta-SCF and xspectra output, a new calibration
    from the stored quartz spectrum, and new aligned spectra; the old ones are marked superseded,
    so `siox dataset assemble` and `siox provenance` use the new ones.
    """
    from aiida import orm

    from aiida_siox.workflows.alignment import realign

    node = _load_process(identifier, profile)
    given = orm.load_node(calibration) if calibration else None
    try:
        replaced = realign(node, given, echo=click.echo)
    except ValueError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    if not replaced:
        click.echo(f"<{node.pk}>: every spectrum is already aligned with xspectra's energy zero; nothing to do")
        return
    click.echo(f'{len(replaced)} spectra re-aligned; `siox dataset assemble {node.pk}` builds the dataset from them')


@siox.command('recover')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
@click.option('--workers', type=int, default=1, show_default=True, help='Daemon workers to start.')
def recover_command(profile, workers):
    """Start the daemon after a crash (killed daemon, reboot): clears stale broker files first.

    Use it instead of `verdi daemon start` after an unclean stop on the embedded (ZeroMQ) profile.
    Processes that were running resume where they were; nothing finished is run again.
    """
    from aiida import load_profile

    from aiida_siox.setup.daemon_recovery import recover_daemon

    name = load_profile(profile, allow_switch=True).name
    try:
        recover_daemon(name, workers, click.echo)
    except RuntimeError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)


@siox.command('status')
@click.argument('identifier')
@click.option('--sites', 'show_sites', is_flag=True, help='Also print one row per site.')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def status_command(identifier, show_sites, profile):
    """Progress of a pipeline per structure and per XANES site: done, running, failed, waiting.

    IDENTIFIER is the pk/UUID of a SiOxDatasetWorkChain, SiOxStructureWorkChain or SiteXanesWorkChain.
    Reruns made by `siox rerun-failed` are followed: a site shows its newest state.
    """
    from aiida import orm
    from tabulate import tabulate

    from aiida_siox.cli.status import site_rows, structure_rows

    node = _load_process(identifier, profile)
    if not isinstance(node, orm.WorkflowNode):
        click.secho(f'Error: <{node.pk}> is a {type(node).__name__}, not a workchain', fg='red', err=True)
        sys.exit(1)
    state = node.process_state.value if node.process_state else 'created'
    click.echo(
        f'{node.process_label}<{node.pk}>: {state}' + (f' [{node.exit_status}] {node.exit_message or ""}' if node.is_terminated else '')
    )
    rows = structure_rows(node)
    if rows:
        click.echo(tabulate([list(r.values()) for r in rows], headers=list(rows[0])))
    sites = site_rows(node)
    listed = sites if show_sites else [s for s in sites if s['state'] == 'failed']
    if listed:
        click.echo('\n' + ('Sites:' if show_sites else 'Failed sites (rerun them with `siox rerun-failed`):'))
        click.echo(tabulate([list(s.values()) for s in listed], headers=list(listed[0])))


@siox.command('rerun-failed')
@click.argument('identifier')
@click.option('--walltime', type=int, default=None, help='New max_wallclock_seconds for the rerun sites.')
@click.option('--mixing-beta', type=float, default=None, help='New pw.x mixing_beta for the rerun sites.')
@click.option('--max-concurrent-sites', type=int, default=None, help='New per-structure site throttle.')
@click.option('--dry-run', is_flag=True, help='Only say what would be rerun.')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def rerun_failed_command(identifier, walltime, mixing_beta, max_concurrent_sites, dry_run, profile):
    """Rerun only the failed sites of a SiteXanesWorkChain, or of every one under a structure or dataset workchain.

    Finished sites are handed over unchanged (same nodes, never recomputed) and the ground-state
    SCF is reused; the new workchain's outputs are the union. Submitted to the daemon.
    """
    from aiida import orm
    from aiida.engine import submit

    from aiida_siox.workflows.rerun_failed import link_rerun, missing_sites, rerun_builder, runs_to_rerun

    node = _load_process(identifier, profile)
    if not isinstance(node, orm.WorkflowNode):
        click.secho(f'Error: <{node.pk}> is a {type(node).__name__}, not a workchain', fg='red', err=True)
        sys.exit(1)
    runs, skipped = runs_to_rerun(node)
    for reason in skipped:
        click.secho(f'Skipped: {reason}', fg='yellow')
    if not runs:
        click.echo(f'Nothing to rerun under {node.process_label}<{node.pk}>: no terminated XANES run has missing sites.')
        sys.exit(0 if not skipped else 1)
    overrides = {}
    if mixing_beta is not None:
        overrides['scf_parameters'] = {'ELECTRONS': {'mixing_beta': mixing_beta}}
    if walltime is not None:
        overrides['options'] = {'max_wallclock_seconds': walltime}
    for run in runs:
        missing = missing_sites(run)
        if dry_run:
            click.echo(f'would rerun sites {missing} of SiteXanesWorkChain<{run.pk}>')
            continue
        builder = rerun_builder(run, overrides)
        if max_concurrent_sites is not None:
            builder.max_concurrent_sites = orm.Int(max_concurrent_sites)
        new = submit(builder)
        link_rerun(run, new)
        click.echo(f'SiteXanesWorkChain<{new.pk}> reruns sites {missing} of <{run.pk}>')
    if not dry_run:
        click.echo(f'Follow with `siox status {node.pk}`; make sure the daemon runs (`verdi daemon start`).')


@siox.command('provenance')
@click.argument('identifier')
@click.option('--row', type=int, default=None, help='With a dataset (assemble_dataset output): the row to trace.')
@click.option('--json', 'as_json', is_flag=True, help='Print the chain as JSON.')
@click.option(
    '--graph', type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None, help='Also write the graph (.pdf/.png/.svg).'
)
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def provenance_command(identifier, row, as_json, graph, profile):
    """Where a spectrum came from: composition, seed, MD, structure, site, SCFs, xspectra, alignment.

    IDENTIFIER is a site spectrum (aligned or raw XyData), or a dataset ArrayData with --row.
    """
    import json

    from aiida import orm

    from aiida_siox.provenance import ProvenanceError, dataset_row_spectrum, provenance_text, spectrum_provenance

    node = _load_process(identifier, profile)
    try:
        if isinstance(node, orm.ArrayData) and not isinstance(node, orm.XyData):
            if row is None:
                raise ProvenanceError(f'<{node.pk}> is a dataset: say which row with --row N')
            node = dataset_row_spectrum(node, row)
        elif not isinstance(node, orm.XyData):
            raise ProvenanceError(f'<{node.pk}> is a {type(node).__name__}: give a site spectrum (XyData) or a dataset with --row')
        chain = spectrum_provenance(node)
    except ProvenanceError as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    click.echo(json.dumps(chain, indent=2, default=str) if as_json else provenance_text(chain))
    if graph is not None:
        from aiida.tools.visualization import Graph

        drawing = Graph(graph_attr={'rankdir': 'LR'})
        drawing.recurse_ancestors(node, depth=None, annotate_links='both', include_process_inputs=True)
        written = drawing.graphviz.render(filename=str(graph.with_suffix('')), format=graph.suffix.lstrip('.') or 'pdf', cleanup=True)
        click.echo(f'graph written to {written}')


@siox.command('predict')
@click.argument('spectrum', type=click.Path(path_type=pathlib.Path, dir_okay=False))
@click.option('--model', 'model_id', required=True, help='Training job/workchain, dataset workchain or model file (pk or UUID).')
@click.option('--png', type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None, help='Also write a plot here.')
@click.option('-p', '--profile', default=None, help='Profile (default: the default profile).')
def predict_command(spectrum, model_id, png, profile):
    """Si valence and RDF (with the ensemble's uncertainty) for a measured or computed spectrum.

    SPECTRUM is a two-column text/CSV file (energy in eV, intensity) or an XDI file; it must cover
    1830-1880 eV. The prediction is stored as a calcfunction: spectrum + models -> charge, RDF.
    """
    from aiida_siox.cli.predict import ModelNotFound, predict_file, prediction_text, write_prediction_plot
    from aiida_siox.ml.inputs import SpectrumInputError

    model = _load_process(model_id, profile)
    try:
        result = predict_file(spectrum, model)
    except (ModelNotFound, SpectrumInputError) as exception:
        click.secho(f'Error: {exception}', fg='red', err=True)
        sys.exit(1)
    click.echo(prediction_text(spectrum, result))
    if png is not None:
        write_prediction_plot(spectrum, result, png)
        click.echo(f'plot written to {png}')
