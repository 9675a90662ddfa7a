"""Time the dataset assembly at the paper's size (45 cells x ~118 sites) from real site nodes.

    AIIDA_PATH=... .venv/bin/python benchmarks/bench_assemble_dataset.py [--cells 45 --sites 118] [--workchain PK]

Takes the ``structure_rows`` inputs of one structure of a SiOxDatasetWorkChain (default: the
newest in the profile, e.g. the demo's) and builds ``--cells`` structures of ``--sites`` sites
from them: the site labels 0..N-1 point, in turn, at the real aligned-spectrum nodes (reused), and
the RDF and charge nodes are the real arrays tiled to N sites (new nodes, derived from real ones).
Times, in the same run:

- ``structure_rows``: one calcfunction per cell, which each SiOxStructureWorkChain runs as its last
  step (the links of a cell's ~118 spectra are made when that cell ends, beside the other cells' DFT);
- the assembly after the last cell: per cell the check that its rows are current (its XANES not
  rerun, none of its spectra realigned: a few queries for all cells) and ``assemble_dataset`` over all cells' tables;
- the same table built in plain numpy on arrays already in memory.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cells', type=int, default=45)
    parser.add_argument('--sites', type=int, default=118, help='Sites per cell (5,290 / 45 = 117.6 in the paper).')
    parser.add_argument('--workchain', default=None, help='pk of a SiOxDatasetWorkChain (default: the newest that assembled).')
    parser.add_argument('--profile', default=None)
    args = parser.parse_args()

    from aiida import load_profile, orm
    from aiida.manage.caching import disable_caching

    from aiida_siox.calculations.dataset import assemble_dataset, structure_rows
    from aiida_siox.workflows.assembly import rerun_structures, structure_row_inputs, tables_with_superseded_spectra

    load_profile(args.profile)
    if args.workchain:
        workchain = orm.load_node(args.workchain)
    else:
        qb = orm.QueryBuilder().append(orm.WorkChainNode, filters={'attributes.process_label': 'SiOxDatasetWorkChain'}, tag='wc')
        workchain = qb.order_by({'wc': {'ctime': 'desc'}}).first(flat=True)
        if workchain is None:
            raise SystemExit('no SiOxDatasetWorkChain in this profile: run `siox demo` first')
    structures = [n for n in workchain.called if n.process_label == 'SiOxStructureWorkChain' and n.is_finished_ok]
    inputs = next((i for i in map(structure_row_inputs, structures) if any(k.startswith('spectrum_') for k in i)), None)
    if inputs is None or 'charges' not in inputs:
        raise SystemExit(f'{workchain.process_label}<{workchain.pk}> has no structure with spectra and charges')
    spectra = [node for label, node in inputs.items() if label.startswith('spectrum_')]
    real_sites = inputs['sites'].get_list()
    rdfs, charges = inputs['rdfs'], inputs['charges']
    rdf_row = {site: list(rdfs.get_array('sites')).index(site) for site in real_sites}

    tiled_rdfs = orm.ArrayData()
    picks = [rdf_row[real_sites[i % len(real_sites)]] for i in range(args.sites)]
    tiled_rdfs.set_array('sites', np.arange(args.sites))
    tiled_rdfs.set_array('r', rdfs.get_array('r'))
    for name in ('rdf_total', 'rdf_Si', 'rdf_O', 'n_o', 'n_si'):
        tiled_rdfs.set_array(name, rdfs.get_array(name)[picks])
    tiled_charges = orm.ArrayData()
    tiled_charges.set_array('charge', charges.get_array('charge')[[real_sites[i % len(real_sites)] for i in range(args.sites)]])
    tiled_rdfs.store()
    tiled_charges.store()
    sites = orm.List(list(range(args.sites))).store()
    cell_inputs = {
        'structure': inputs['structure'],
        'x': inputs['x'],
        'seed': inputs['seed'],
        'sites': sites,
        'rdfs': tiled_rdfs,
        'charges': tiled_charges,
        **{f'spectrum_{i}': spectra[i % len(spectra)] for i in range(args.sites)},
    }
    print(f'{workchain.process_label}<{workchain.pk}>: {len(spectra)} real spectrum nodes reused for {args.cells} x {args.sites} sites')

    start = time.perf_counter()
    with disable_caching():  # 45 calls with the same inputs: each must really run
        tables = [structure_rows(**cell_inputs) for _ in range(args.cells)]
    rows_seconds = time.perf_counter() - start
    structure = structures[0]
    start = time.perf_counter()
    stale = rerun_structures([structure.pk] * args.cells) | tables_with_superseded_spectra(tables)  # as current_rows does
    result = assemble_dataset(**{f's{k}': table for k, table in enumerate(tables)})
    assemble_seconds = time.perf_counter() - start
    n_rows = result['manifest']['n_rows']
    assert not stale and n_rows == args.cells * args.sites

    # Reference: the same table from arrays already in memory (no node loading, no storing).
    arrays = [(s.get_x()[1], s.get_y()[0][1]) for s in spectra]
    start = time.perf_counter()
    table = np.array([arrays[i % len(arrays)][1] for _ in range(args.cells) for i in range(args.sites)])
    numpy_seconds = time.perf_counter() - start
    assert table.shape == (n_rows, 256) and np.allclose(table, result['dataset'].get_array('spectra'))
    print(
        f'structure_rows: {args.cells} calls in {rows_seconds:.2f} s ({rows_seconds / args.cells:.3f} s per cell of {args.sites} sites, '
        'made as each cell ends)'
    )
    print(f'plain numpy on in-memory arrays: {numpy_seconds:.4f} s')
    print(f'assembly after the last cell: {n_rows} rows from {args.cells} cells in {assemble_seconds:.2f} s (currency checks included)')


if __name__ == '__main__':
    main()
