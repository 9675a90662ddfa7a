"""Time of `siox status` and `siox provenance` as the profile grows to thousands of site nodes.

    .venv/bin/python benchmarks/bench_provenance_queries.py --profile PROFILE --site-nodes 3000

The graph is made by reusing one structure's results many times: one SiteXanesWorkChain on
alpha-quartz (3 sites, `fast` protocol, real pw.x + xspectra.x) runs for real, then its whole
provenance subgraph (every workchain, job, calcfunction and every node they created: 107
nodes with their attributes, files and links) is inserted again and again with new UUIDs, as if
the same structure had been computed many times. Copies are bulk inserts (as `verdi archive
import` makes them), about 0.1 s each: a cached rerun through the engine costs 10-40 s per
structure here and a node-by-node ORM copy 1.5-4 s, too slow for thousands.
At each size in --checkpoints the script times, in fresh processes as a user runs them,
`siox status <a copy> --sites` and `siox provenance <an aligned spectrum of a copy>`, and the same
calls inside this (warm) process; how they grow with the profile size is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

BIN = pathlib.Path(sys.executable).parent


def timed_cli(args: list[str], profile: str) -> float:
    """Seconds of one `siox ...` call in a new process (interpreter start and imports included)."""
    start = time.perf_counter()
    result = subprocess.run([str(BIN / 'siox'), *args, '-p', profile], capture_output=True, text=True, check=False, env=os.environ)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f'siox {" ".join(args)} failed:\n{result.stdout}{result.stderr}')
    return seconds


NODE_FIELDS = ['id', 'node_type', 'process_type', 'label', 'description', 'ctime', 'mtime', 'attributes', 'extras',
               'repository_metadata', 'user_id', 'dbcomputer_id']  # fmt: skip


def process_subgraph(top) -> tuple[list[dict], list[dict]]:
    """The rows of ``top``, of every process it called (at any depth) and of every node they created or returned.

    Returns the node rows (as stored) and the link rows that end in the subgraph: links from inside it,
    and input links from outside it (codes, pseudopotentials, the input structure). The caller's CALL
    link and RETURN links to processes outside the subgraph are left out: a copy has no caller.
    """
    from aiida import orm
    from aiida.common.links import LinkType

    processes = [top, *top.called_descendants]
    inside = {node.pk for node in processes}
    created = orm.QueryBuilder().append(orm.ProcessNode, filters={'id': {'in': list(inside)}}, tag='process')
    created.append(orm.Node, with_incoming='process', edge_filters={'type': {'in': ['create', 'return']}}, project='id')
    inside |= set(created.all(flat=True))
    nodes = orm.QueryBuilder().append(orm.Node, filters={'id': {'in': list(inside)}}, project=NODE_FIELDS).all()
    node_rows = [dict(zip(NODE_FIELDS, values, strict=True)) for values in nodes]
    links = orm.QueryBuilder().append(orm.Node, filters={'id': {'in': list(inside)}}, tag='target', project='id')
    links.append(orm.Node, with_outgoing='target', project='id', edge_project=['label', 'type'])
    inputs_from_outside = {LinkType.INPUT_CALC.value, LinkType.INPUT_WORK.value}
    link_rows = [
        {'output_id': target, 'input_id': source, 'label': label, 'type': link_type}
        for target, source, label, link_type in links.all()
        if source in inside or link_type in inputs_from_outside
    ]
    return node_rows, link_rows


def copy_subgraph(node_rows: list[dict], link_rows: list[dict], top_pk: int) -> int:
    """Insert one copy of a subgraph (new UUIDs, same attributes, links and file objects); return the copy of ``top_pk``.

    Two bulk inserts, as ``verdi archive import`` does: the ORM's node-by-node store with its link
    checks costs seconds per structure. The repository is content-addressed, so the copies point at
    the same file objects, as identical files written by real runs would. The caching hash is
    dropped so that no copy becomes a cache source.
    """
    import uuid

    from aiida import orm
    from aiida.manage import get_manager
    from aiida.orm.entities import EntityTypes

    backend = get_manager().get_profile_storage()
    rows = []
    for row in node_rows:
        extras = {key: value for key, value in (row['extras'] or {}).items() if key != '_aiida_hash'}
        rows.append({**{k: v for k, v in row.items() if k != 'id'}, 'uuid': str(uuid.uuid4()), 'extras': extras})
    with backend.transaction():
        backend.bulk_insert(EntityTypes.NODE, rows)
        new_pk = dict(
            orm.QueryBuilder().append(orm.Node, filters={'uuid': {'in': [r['uuid'] for r in rows]}}, project=['uuid', 'id']).all()
        )
        copy_of = {row['id']: new_pk[new['uuid']] for row, new in zip(node_rows, rows, strict=True)}
        backend.bulk_insert(
            EntityTypes.LINK,
            [
                {**link, 'output_id': copy_of[link['output_id']], 'input_id': copy_of.get(link['input_id'], link['input_id'])}
                for link in link_rows
            ],
        )
    return copy_of[top_pk]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default=None)
    parser.add_argument('--site-nodes', type=int, default=3000, help='SiteSpectrumWorkChain nodes to reach in the profile.')
    parser.add_argument('--checkpoints', default='3,300,1000,3000', help='Profile sizes (site nodes) at which to time.')
    parser.add_argument('--first', type=int, default=None, help='pk of a finished SiteXanesWorkChain to copy (default: run one).')
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_provenance_queries.json'))
    args = parser.parse_args()

    from aiida import load_profile, orm
    from aiida.engine import run_get_node
    from click.testing import CliRunner

    from aiida_siox.calculations.structure_edit import alpha_quartz
    from aiida_siox.cli import siox
    from aiida_siox.setup.environment import load_pipeline_codes
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    profile = load_profile(args.profile).name
    codes = load_pipeline_codes()
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'}).store()
    inputs = dict(SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', calibration=calibration))
    structure = alpha_quartz().store()
    checkpoints = sorted(int(c) for c in args.checkpoints.split(','))

    def site_nodes() -> int:
        return orm.QueryBuilder().append(orm.WorkflowNode, filters={'process_type': 'aiida.workflows:siox.site_spectrum'}).count()

    if args.first is not None:
        first = orm.load_node(args.first)
    else:
        _, first = run_get_node(SiteXanesWorkChain, structure=structure, sites=orm.List([0, 1, 2]), **inputs)
    if not first.is_finished_ok:
        raise SystemExit(f'SiteXanesWorkChain<{first.pk}> failed: {first.exit_status} {first.exit_message}')
    subgraph = process_subgraph(first)
    print(f'SiteXanesWorkChain<{first.pk}>: {len(subgraph[0])} nodes, {len(subgraph[1])} links per copy', flush=True)
    rows, copy_seconds, latest = [], [], first
    while True:
        count = site_nodes()
        while checkpoints and count >= checkpoints[0]:
            checkpoints.pop(0)
            spectrum = latest.outputs.aligned_spectra.site_1
            warm = CliRunner()
            start = time.perf_counter()
            status = warm.invoke(siox, ['status', str(latest.pk), '--sites', '-p', profile])
            warm_status = time.perf_counter() - start
            assert status.exit_code == 0 and status.output.count('done') >= 3, status.output
            start = time.perf_counter()
            chain = warm.invoke(siox, ['provenance', str(spectrum.pk), '-p', profile])
            warm_provenance = time.perf_counter() - start
            assert chain.exit_code == 0 and 'site            1' in chain.output, chain.output
            row = {
                'site_nodes': count,
                'nodes': orm.QueryBuilder().append(orm.Node).count(),
                'status_s': timed_cli(['status', str(latest.pk), '--sites'], profile),
                'provenance_s': timed_cli(['provenance', str(spectrum.pk)], profile),
                'status_warm_s': warm_status,
                'provenance_warm_s': warm_provenance,
            }
            rows.append(row)
            print(
                f'{count:>6} site nodes ({row["nodes"]} nodes): siox status {row["status_s"]:.2f} s '
                f'(in process {warm_status:.2f} s), siox provenance {row["provenance_s"]:.2f} s (in process {warm_provenance:.2f} s)',
                flush=True,
            )
        if count >= args.site_nodes or not checkpoints:
            break
        start = time.perf_counter()
        latest = orm.load_node(copy_subgraph(*subgraph, first.pk))
        copy_seconds.append(time.perf_counter() - start)
        if len(copy_seconds) in (1, 10) or len(copy_seconds) % 100 == 0:
            print(f'  copy {len(copy_seconds)}: {copy_seconds[-1]:.2f} s, {site_nodes()} site nodes', flush=True)
    summary = {'copies': len(copy_seconds), 'copy_mean_s': sum(copy_seconds) / max(len(copy_seconds), 1)}
    args.output.write_text(json.dumps({'timings': rows, **summary}, indent=1))
    print(json.dumps(summary), f'results in {args.output}')


if __name__ == '__main__':
    main()
