"""``siox structures``, ``siox status`` and ``siox provenance``: looking at what ran and where a number came from."""

from __future__ import annotations

import pathlib
import sys

import click

from aiida_siox.cli.params import PROFILE, fail, load_node_or_fail, load_workflow_or_fail
from aiida_siox.cli.root import siox


@siox.command('structures')
@click.argument('identifier')
@PROFILE
def structures_command(identifier):
    """Table of melt-quenched structures: composition, seed, density, coordination fractions, status.

    IDENTIFIER is a group label (as made by workchains/submit_structures.py) or the pk/UUID of a
    workchain whose descendants include melt-quenches (e.g. a SiOxDatasetWorkChain).
    """
    from tabulate import tabulate

    from aiida_siox.cli.structures import COLUMNS, melt_quench_nodes, melt_quench_rows

    try:
        nodes = melt_quench_nodes(identifier)
    except Exception as exception:  # any lookup failure means a wrong identifier
        fail(f'no group or workchain {identifier!r}: {exception}')
    if not nodes:
        click.secho(f'No melt-quench workchains in {identifier!r}.', fg='yellow', err=True)
        sys.exit(1)
    rows = melt_quench_rows(nodes)
    click.echo(tabulate([[row[c] for c in COLUMNS] for row in rows], headers=COLUMNS))
    click.echo('density in g/cm3, distances in A; Si<n>+: fraction of Si with n O neighbours; fourfold: fraction of Si with 4 neighbours')


@siox.command('status')
@click.argument('identifier')
@click.option('--sites', 'show_sites', is_flag=True, help='Also print one row per site.')
@click.option('--watch', is_flag=True, help='Keep the stage table live until the workchain ends (Ctrl-C to leave).')
@PROFILE
def status_command(identifier, show_sites, watch):
    """Progress of a pipeline: per stage (done/total, running, failed, wall time, estimate of what is left),
    per structure and per XANES site.

    IDENTIFIER is the pk/UUID of a SiOxDatasetWorkChain, SiOxStructureWorkChain or SiteXanesWorkChain.
    Reruns made by `siox rerun-failed` are followed: a site shows its newest state.
    """
    from rich.console import Console
    from tabulate import tabulate

    from aiida_siox.cli.demo import follow
    from aiida_siox.cli.status import site_rows, structure_status_rows
    from aiida_siox.graph import DATASET, STRUCTURE
    from aiida_siox.progress import format_seconds, pipeline_stages, remaining_seconds, stage_table

    node = load_workflow_or_fail(identifier)
    if node.process_type in (DATASET, STRUCTURE):
        if watch and not node.is_terminated:
            follow(node, click.echo)
        stages = pipeline_stages(node)
        left = '' if node.is_terminated else f', left ~{format_seconds(remaining_seconds(stages))}'
        Console().print(stage_table(stages, f'Stages{left}'))
    state = node.process_state.value if node.process_state else 'created'
    click.echo(
        f'{node.process_label}<{node.pk}>: {state}' + (f' [{node.exit_status}] {node.exit_message or ""}' if node.is_terminated else '')
    )
    rows = structure_status_rows(node)
    if rows:
        click.echo(tabulate([list(r.values()) for r in rows], headers=list(rows[0])))
    sites = site_rows(node)
    listed = sites if show_sites else [s for s in sites if s['state'] == 'failed']
    if listed:
        click.echo('\n' + ('Sites:' if show_sites else 'Failed sites (rerun them with `siox rerun-failed`):'))
        click.echo(tabulate([list(s.values()) for s in listed], headers=list(listed[0])))


@siox.command('provenance')
@click.argument('identifier')
@click.option('--row', type=int, default=None, help='With a dataset (assemble_dataset output): the row to trace.')
@click.option('--json', 'as_json', is_flag=True, help='Print the chain as JSON.')
@click.option(
    '--graph', type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None, help='Also write the graph (.pdf/.png/.svg).'
)
@PROFILE
def provenance_command(identifier, row, as_json, graph):
    """Where a spectrum came from: composition, seed, MD, structure, site, SCFs, xspectra, alignment.

    IDENTIFIER is a site spectrum (aligned or raw XyData), or a dataset ArrayData with --row.
    """
    import json

    from aiida import orm

    from aiida_siox.provenance import ProvenanceError, dataset_row_spectrum, provenance_text, spectrum_provenance

    node = load_node_or_fail(identifier)
    try:
        if isinstance(node, orm.ArrayData) and not isinstance(node, orm.XyData):
            if row is None:
                raise ProvenanceError(f'<{node.pk}> is a dataset: say which row with --row N')
            node = dataset_row_spectrum(node, row)
        elif not isinstance(node, orm.XyData):
            raise ProvenanceError(f'<{node.pk}> is a {type(node).__name__}: give a site spectrum (XyData) or a dataset with --row')
        chain = spectrum_provenance(node)
    except ProvenanceError as exception:
        fail(str(exception))
    click.echo(json.dumps(chain, indent=2, default=str) if as_json else provenance_text(chain))
    if graph is not None:
        import graphviz
        from aiida.tools.visualization import Graph

        drawing = Graph(graph_attr={'rankdir': 'LR'})
        drawing.recurse_ancestors(node, depth=None, annotate_links='both')
        try:
            written = drawing.graphviz.render(filename=str(graph.with_suffix('')), format=graph.suffix.lstrip('.') or 'pdf', cleanup=True)
        except graphviz.ExecutableNotFound:
            fail("drawing the graph needs Graphviz's `dot`: install it (Debian: apt-get install graphviz; `make demo` does)")
        click.echo(f'graph written to {written}')
