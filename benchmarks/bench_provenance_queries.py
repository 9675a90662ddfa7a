"""Time of `siox status` and `siox provenance` as the profile grows to thousands of site nodes.

    .venv/bin/python benchmarks/bench_provenance_queries.py --profile PROFILE --site-nodes 3000

The graph is made by reusing one structure's results many times: one SiteXanesWorkChain on
alpha-quartz (3 sites, `fast` protocol, real pw.x + xspectra.x) runs for real, then its whole
provenance subgraph (every workchain, job, calcfunction and every node they created, about 230
nodes with their files) is copied again and again with new UUIDs and the same links, as if the
same structure had been computed many times. Copies are made by the ORM (not by the engine: a
cached rerun through the engine costs about 10-40 s per structure here, too slow for thousands).
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


def store_without_rehash(node) -> None:
    """``Node.store`` minus the caching hash (a second commit and a walk over the inputs per node).

    The copies are not meant as cache sources; their links were validated in the original graph.
    """
    node.base.repository._store()
    node.backend_entity.store(node.base.links.incoming_cache, clean=True)
    node.base.links.incoming_cache = []


def copy_process_graph(top) -> dict[int, int]:
    """Copy ``top``, every process it called (at any depth) and every node they created or returned.

    Nodes are copied in creation order, so the sources of every incoming link exist (as copies
    inside the subgraph, as the originals outside it: codes, pseudopotentials, the input structure)
    before the node that needs them is stored. The copied processes are left unsealed (sealing is
    one more commit per node, and the queries timed here do not look at it). Returns original pk -> copy pk.
    """
    from aiida import orm
    from aiida.common.links import LinkType

    processes = [top, *top.called_descendants]
    inside = {node.pk for node in processes}
    created = {}
    for process in processes:
        for link in process.base.links.get_outgoing(link_type=(LinkType.CREATE, LinkType.RETURN)).all():
            created[link.node.pk] = link.node
    inside |= set(created)
    nodes = sorted([*processes, *created.values()], key=lambda n: (n.ctime, n.pk))
    copies: dict[int, orm.Node] = {}
    for node in nodes:
        if isinstance(node, orm.ProcessNode):
            copy = type(node)(computer=node.computer) if isinstance(node, orm.CalcJobNode) else type(node)()
            copy.base.attributes.set_many({k: v for k, v in node.base.attributes.all.items() if k != 'sealed'})
            copy.process_type = node.process_type
            copy.base.repository._clone(node.base.repository)  # what Node.clone() does for data nodes
        else:
            copy = node.clone()
        copy.label, copy.description = node.label, node.description
        extras = {k: v for k, v in node.base.extras.all.items() if not k.startswith('_aiida')}
        if extras:
            copy.base.extras.set_many(extras)
        incoming = node.base.links.get_incoming().all()
        # from outside the subgraph only inputs are kept: the copy has no caller and returns to nobody
        incoming = [link for link in incoming if link.node.pk in inside or link.link_type in (LinkType.INPUT_CALC, LinkType.INPUT_WORK)]
        returns = [link for link in incoming if link.link_type == LinkType.RETURN]  # only to a stored node
        for link in [*(link for link in incoming if link.link_type != LinkType.RETURN), None, *returns]:
            if link is None:
                store_without_rehash(copy)
                continue
            source = copies[link.node.pk] if link.node.pk in inside else link.node
            # the original links were validated when the original graph was made: skip the per-link queries
            if copy.is_stored:
                copy.backend_entity.add_incoming(source.backend_entity, link.link_type, link.link_label)
            else:
                copy.base.links._add_incoming_cache(source, link.link_type, link.link_label)
        copies[node.pk] = copy
    return {pk: copy.pk for pk, copy in copies.items()}


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
    from aiida_siox.workflows.dataset import SiOxDatasetWorkChain
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    profile = load_profile(args.profile).name
    labels = {'lmp': 'lmp', 'pw': 'pw', 'xspectra': 'xspectra', 'pp': 'pp', 'python': 'siox-python'}
    codes = {key: orm.load_code(f'{label}@localhost') for key, label in labels.items()}
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(codes, [1.0], [1], protocol='fast', train=False)
    inputs = builder._inputs(prune=True)['structure']['xanes']
    inputs['calibration'] = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0}).store()
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
        latest = orm.load_node(copy_process_graph(first)[first.pk])
        copy_seconds.append(time.perf_counter() - start)
        if len(copy_seconds) in (1, 10) or len(copy_seconds) % 100 == 0:
            print(f'  copy {len(copy_seconds)}: {copy_seconds[-1]:.2f} s, {site_nodes()} site nodes', flush=True)
    summary = {'copies': len(copy_seconds), 'copy_mean_s': sum(copy_seconds) / max(len(copy_seconds), 1)}
    args.output.write_text(json.dumps({'timings': rows, **summary}, indent=1))
    print(json.dumps(summary), f'results in {args.output}')


if __name__ == '__main__':
    main()
