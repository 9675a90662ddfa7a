"""Calcfunctions for the dataset: per-site RDFs and the assembled table (one row per Si site)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis import rdf
from aiida_siox.analysis.spectrum import ML_GRID
from aiida_siox.analysis.structure_averages import average_by_structure
from aiida_siox.calculations.bulk_arrays import read_arrays


@calcfunction
def site_rdfs(structure: orm.StructureData, sigma: orm.Float) -> orm.ArrayData:
    """RDF (total, Si, O partials; 256 points on 0-5 A, Gaussian width ``sigma`` A) and (n_O, n_Si) of every Si site."""
    atoms = structure.get_ase()
    symbols = atoms.get_chemical_symbols()
    sites = [i for i, s in enumerate(symbols) if s == 'Si']
    curves = rdf.site_rdfs(atoms.positions, atoms.cell[:], symbols, sites, sigma=sigma.value)
    coordination = np.array(rdf.coordinations(atoms.positions, atoms.cell[:], symbols, sites), int).reshape(-1, 2)
    node = orm.ArrayData()
    node.set_array('sites', np.array(sites, int))
    node.set_array('r', curves['r'])
    for key in ('total', 'Si', 'O'):
        node.set_array(f'rdf_{key}', curves[key])
    node.set_array('n_o', coordination[:, 0])
    node.set_array('n_si', coordination[:, 1])
    node.base.attributes.set('sigma_angstrom', sigma.value)
    return node


ROW_COLUMNS = ('x', 'seed', 'site', 'n_o', 'n_si')
# Per row, the UUIDs of the nodes it was read from, as string arrays of the table itself. Not a list of
# dicts in a Dict node: aiida compares Dict inputs by value when it links them, so 45 such inputs of
# ~118 rows each cost seconds, and reading 5,310 dicts back costs more.
UUID_COLUMNS = {'structure': 'structure_uuid', 'spectrum': 'spectrum_uuid', 'charges': 'charges_uuid', 'rdfs': 'rdfs_uuid'}
SOURCE_COLUMNS = ('source_filename', 'source_sha256')
DATASET_ARRAYS = ('spectra', 'charge', 'rdf', *ROW_COLUMNS, *UUID_COLUMNS.values())
# A structure's table packs its per-row numbers and UUIDs into two arrays: every file of an input node
# costs a query when the assembly's hash is computed, and 45 tables of 13 files each cost seconds.
TABLE_VALUES = (*ROW_COLUMNS, 'charge')
TABLE_ARRAYS = ('spectra', 'rdf', 'values', 'uuids')


def missing_reason(energy: np.ndarray | None, intensity: np.ndarray | None, covered: tuple[float, float], has_charge: bool) -> str | None:
    """Why a site cannot be a dataset row (None when it can): no spectrum (``energy`` None), no charge,
    or a spectrum whose aligned range ``covered`` does not reach over the ML grid (never padded with zeros)."""
    if energy is None:
        return 'no spectrum (site failed or not run)'
    if not has_charge:
        return 'no Bader charge'
    if energy.shape != ML_GRID.shape or not np.allclose(energy, ML_GRID):
        raise ValueError('the spectrum is not on the ML grid (1830-1880 eV, 256 points)')
    if not np.isfinite(intensity).all():
        low, high = covered
        return f'aligned range {low:.1f}-{high:.1f} eV does not cover {ML_GRID[0]:.0f}-{ML_GRID[-1]:.0f} eV (widen xemin/xemax)'
    return None


@calcfunction
def structure_rows(**kwargs: orm.Data) -> orm.ArrayData:
    """The dataset rows of one structure: one per requested Si site with a spectrum and a charge.

    Inputs: ``structure``, ``x`` (Float), ``seed`` (Int), ``sites`` (List of requested sites),
    ``rdfs``, ``charges`` (optional), ``spectrum_<site>`` (optional) and ``initial_structure``
    (optional: a user's cell, whose ``source_filename`` and ``source_sha256`` each row carries).

    Returns one table: ``spectra`` and ``rdf`` (one row per site), ``values`` (columns
    :data:`TABLE_VALUES`), ``uuids`` (the row's structure, spectrum, charge and RDF nodes) and, for a
    user's cell, ``source``; :func:`table_columns` names them. Requested sites lacking a spectrum or a
    charge are listed in its ``missing`` attribute with the reason, never silently dropped.
    SiOxStructureWorkChain runs it as its last step, so the links of a cell's spectra are made when
    that cell ends, not all at once when the dataset is assembled.
    """
    structure, rdf_node = kwargs['structure'], kwargs['rdfs']
    charge_node = kwargs.get('charges')
    initial = kwargs.get('initial_structure')
    rdf_index = {int(site): i for i, site in enumerate(rdf_node.get_array('sites'))}
    rdf_total, n_o_all, n_si_all = rdf_node.get_array('rdf_total'), rdf_node.get_array('n_o'), rdf_node.get_array('n_si')
    charges_all = charge_node.get_array('charge') if charge_node is not None else None
    requested = [int(site) for site in kwargs['sites'].get_list()]
    nodes = {site: kwargs[f'spectrum_{site}'] for site in requested if f'spectrum_{site}' in kwargs}
    arrays = dict(zip(nodes, read_arrays(list(nodes.values()), ('x_array', 'y_array_0')), strict=True))
    sites, missing, spectra, spectrum_uuids = [], [], [], []
    for site in requested:
        energy, intensity = (arrays[site]['x_array'], arrays[site]['y_array_0']) if site in nodes else (None, None)
        covered = nodes[site].base.attributes.get('covered_range_ev', (float('nan'),) * 2) if site in nodes else None
        try:
            reason = missing_reason(energy, intensity, covered, charge_node is not None)
        except ValueError as exception:
            raise ValueError(f'spectrum {nodes[site].uuid}: {exception}') from exception
        if reason:
            missing.append({'structure': structure.uuid, 'site': site, 'reason': reason})
            continue
        sites.append(site)
        spectra.append(intensity)
        spectrum_uuids.append(nodes[site].uuid)
    n, picks = len(sites), [rdf_index[site] for site in sites]
    values = np.zeros((n, len(TABLE_VALUES)))
    values[:, 0], values[:, 1], values[:, 2] = kwargs['x'].value, kwargs['seed'].value, sites
    values[:, 3], values[:, 4] = n_o_all[picks], n_si_all[picks]
    values[:, 5] = charges_all[sites] if n else []
    uuids = np.empty((n, len(UUID_COLUMNS)), dtype='U36')
    uuids[:, 0], uuids[:, 1] = structure.uuid, spectrum_uuids
    uuids[:, 2], uuids[:, 3] = charge_node.uuid if charge_node is not None else '', rdf_node.uuid
    table = orm.ArrayData()
    table.set_array('spectra', np.array(spectra, float).reshape(n, len(ML_GRID)))
    table.set_array('rdf', rdf_total[picks].reshape(n, rdf.N_POINTS))
    table.set_array('values', values)
    table.set_array('uuids', uuids)
    table.set_array('r', rdf_node.get_array('r'))
    source = [initial.base.attributes.get(key, None) for key in SOURCE_COLUMNS] if initial is not None else []
    if any(value is not None for value in source):
        table.set_array('source', np.array([[value or '' for value in source]] * n, dtype=str).reshape(n, len(SOURCE_COLUMNS)))
    table.base.attributes.set('missing', missing)
    return table


def table_columns(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The named columns of a :func:`structure_rows` table's arrays: x, seed, site, n_o, n_si, charge,
    the ``*_uuid`` columns and, for a user's cell, the ``source_*`` columns."""
    values, uuids = arrays['values'], arrays['uuids']
    columns = {name: values[:, i] if name in ('x', 'charge') else values[:, i].astype(int) for i, name in enumerate(TABLE_VALUES)}
    columns.update({name: uuids[:, i] for i, name in enumerate(UUID_COLUMNS.values())})
    if 'source' in arrays:
        columns.update({name: arrays['source'][:, i] for i, name in enumerate(SOURCE_COLUMNS)})
    return columns


def _structure_keys(kwargs: dict) -> list[str]:
    return sorted(kwargs, key=lambda key: int(key[1:]))


@calcfunction
def assemble_dataset(**kwargs: orm.ArrayData) -> dict[str, orm.Data]:
    """One table of all structures: rows (spectrum, Bader charge, RDF, x, seed, site, n_O, n_Si) and manifest.

    Inputs ``s<k>``: the tables of :func:`structure_rows`, one per structure. The dataset keeps, per
    row, the UUIDs of its structure, spectrum, charge and RDF nodes (:func:`dataset_rows` reads them);
    the manifest lists every requested site that is missing and why, and the number of rows.
    """
    tables = [kwargs[key] for key in _structure_keys(kwargs)]
    missing = [item for table in tables for item in table.base.attributes.get('missing', [])]
    contents = read_arrays(tables, TABLE_ARRAYS, optional=('source',))
    with_source = any('source' in arrays for arrays in contents)
    columns = [{**table_columns(arrays), 'spectra': arrays['spectra'], 'rdf': arrays['rdf']} for arrays in contents]
    n_rows = sum(len(column['charge']) for column in columns)
    if not n_rows:
        raise ValueError('no site has both a spectrum and a Bader charge: nothing to assemble')
    dataset = orm.ArrayData()
    for name in DATASET_ARRAYS:
        dataset.set_array(name, np.concatenate([column[name] for column in columns]))
    for name in SOURCE_COLUMNS if with_source else ():  # a user's cells carry their file's name and hash
        blank = [np.full(len(column['charge']), '') for column in columns]
        dataset.set_array(name, np.concatenate([column.get(name, empty) for column, empty in zip(columns, blank, strict=True)]))
    dataset.set_array('energy', ML_GRID)
    dataset.set_array('r', tables[0].get_array('r'))
    return {'dataset': dataset, 'manifest': orm.Dict({'missing': missing, 'n_rows': n_rows})}


def dataset_rows(node: orm.ArrayData) -> list[dict]:
    """Per row of an assembled dataset (or of a :func:`structure_rows` table): x, seed, site and the
    UUIDs of its structure, spectrum, charge and RDF nodes (and a user's file name and hash).

    A dataset assembled before the UUID columns existed: the ``rows`` list of its manifest.
    """
    names = set(node.get_arraynames())
    if 'uuids' in names:
        columns = table_columns({name: node.get_array(name) for name in ('values', 'uuids', 'source') if name in names})
    elif 'spectrum_uuid' in names:
        wanted = (*ROW_COLUMNS, *UUID_COLUMNS.values(), *SOURCE_COLUMNS)
        columns = {name: node.get_array(name) for name in wanted if name in names}
    else:
        creator = node.creator
        if creator is None or 'manifest' not in creator.outputs or 'rows' not in creator.outputs.manifest.keys():
            raise ValueError(f'<{node.pk}> has no row UUIDs: it was not made by assemble_dataset')
        return creator.outputs.manifest['rows']
    rows = []
    for i in range(len(columns['x'])):
        row = {'x': float(columns['x'][i]), 'seed': int(columns['seed'][i]), 'site': int(columns['site'][i])}
        row.update({key: str(columns[name][i]) for key, name in UUID_COLUMNS.items() if str(columns[name][i])})
        row.update({name: str(columns[name][i]) for name in SOURCE_COLUMNS if name in columns and str(columns[name][i])})
        rows.append(row)
    return rows


@calcfunction
def structure_averages(dataset: orm.ArrayData) -> orm.ArrayData:
    """Per structure: mean aligned spectrum, mean Bader charge and mean RDF over its sites in the dataset."""
    rows = dataset_rows(dataset)
    averages = average_by_structure(
        [row['structure'] for row in rows], dataset.get_array('spectra'), dataset.get_array('charge'), dataset.get_array('rdf')
    )
    first = {row['structure']: row for row in reversed(rows)}
    node = orm.ArrayData()
    for name, values in averages.items():
        node.set_array(name, values)
    node.set_array('x', np.array([first[key]['x'] for key in averages['structure']], float))
    node.set_array('seed', np.array([first[key]['seed'] for key in averages['structure']], int))
    node.set_array('energy', dataset.get_array('energy'))
    node.set_array('r', dataset.get_array('r'))
    return node
