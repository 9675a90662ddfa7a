"""Time ``assemble_dataset`` on thousands of rows made by reusing real site nodes.

    AIIDA_PATH=... .venv/bin/python benchmarks/bench_assemble_dataset.py --rows 5000 [--workchain PK]

Takes the inputs of the ``assemble_dataset`` call of a finished SiOxDatasetWorkChain (default: the
newest one in the profile, e.g. the demo's) and repeats its structures under new link labels until
the requested number of rows is reached: the spectrum, charge and RDF nodes are real, only reused.
Prints the calcfunction's wall time (it stores the table, the manifest and every input link) next
to the time of the same assembly done in plain numpy on arrays already in memory, in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=5000)
    parser.add_argument('--workchain', default=None, help='pk of a finished SiOxDatasetWorkChain (default: the newest).')
    parser.add_argument('--profile', default=None)
    args = parser.parse_args()

    from aiida import load_profile, orm

    from aiida_siox.calculations.dataset import assemble_dataset

    load_profile(args.profile)
    if args.workchain:
        workchain = orm.load_node(args.workchain)
    else:
        qb = orm.QueryBuilder().append(
            orm.WorkChainNode, filters={'attributes.process_label': 'SiOxDatasetWorkChain', 'attributes.exit_status': 0}
        )
        workchain = qb.order_by({orm.WorkChainNode: {'ctime': 'desc'}}).first(flat=True)
        if workchain is None:
            raise SystemExit('no finished SiOxDatasetWorkChain in this profile: run `siox demo` first')
    call = next(n for n in workchain.called if n.process_label == 'assemble_dataset')
    inputs = {link.link_label: link.node for link in call.base.links.get_incoming().all()}
    groups = sorted({label.split('_', 1)[0] for label in inputs})
    rows_per_copy = call.outputs.manifest['n_rows']
    copies = -(-args.rows // rows_per_copy)
    kwargs = {}
    for copy in range(copies):
        for k, key in enumerate(groups):
            for label, node in inputs.items():
                if label.startswith(f'{key}_'):
                    kwargs[f's{copy * len(groups) + k}_{label.split("_", 1)[1]}'] = node
    print(f'{workchain.process_label}<{workchain.pk}>: {rows_per_copy} rows x {copies} copies, {len(kwargs)} input links')

    start = time.perf_counter()
    result = assemble_dataset(**kwargs)
    aiida_seconds = time.perf_counter() - start
    n_rows = result['manifest']['n_rows']

    # Reference: the same table from arrays already in memory (no node loading, no storing).
    dataset = result['dataset']
    spectra, charge, rdf = dataset.get_array('spectra'), dataset.get_array('charge'), dataset.get_array('rdf')
    start = time.perf_counter()
    table = {'spectra': np.array(list(spectra)), 'charge': np.array(list(charge)), 'rdf': np.array(list(rdf))}
    numpy_seconds = time.perf_counter() - start
    assert table['spectra'].shape == (n_rows, 256)
    print(f'assemble_dataset: {n_rows} rows in {aiida_seconds:.2f} s ({1e3 * aiida_seconds / n_rows:.3f} ms/row)')
    print(f'plain numpy on in-memory arrays: {numpy_seconds:.4f} s; ratio {aiida_seconds / numpy_seconds:.0f}x')


if __name__ == '__main__':
    main()
