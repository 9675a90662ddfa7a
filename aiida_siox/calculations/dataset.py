"""Calcfunctions for the dataset: per-site RDFs and the assembled table (one row per Si site)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis import rdf
from aiida_siox.analysis.spectrum import ML_GRID
from aiida_siox.analysis.structure_averages import average_by_structure


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


def missing_reason(spectrum_node: orm.XyData | None, charge_node: orm.ArrayData | None) -> str | None:
    """Why a site cannot be a dataset row (None when it can): no spectrum, no charge, or a spectrum
    whose computed range does not cover the ML grid (never padded with zeros)."""
    if spectrum_node is None:
        return 'no spectrum (site failed or not run)'
    if charge_node is None:
        return 'no Bader charge'
    energy, intensity = spectrum_node.get_x()[1], spectrum_node.get_y()[0][1]
    if energy.shape != ML_GRID.shape or not np.allclose(energy, ML_GRID):
        raise ValueError(f'spectrum {spectrum_node.uuid} is not on the ML grid (1830-1880 eV, 256 points)')
    if not np.isfinite(intensity).all():
        low, high = spectrum_node.base.attributes.get('covered_range_ev', (float('nan'), float('nan')))
        return f'aligned range {low:.1f}-{high:.1f} eV does not cover {ML_GRID[0]:.0f}-{ML_GRID[-1]:.0f} eV (widen xemin/xemax)'
    return None


@calcfunction
def structure_rows(**kwargs: orm.Data) -> dict[str, orm.Data]:
    """The dataset rows of one structure: one per requested Si site with a spectrum and a charge.

    Inputs: ``structure``, ``x`` (Float), ``seed`` (Int), ``sites`` (List of requested sites),
    ``rdfs``, ``charges`` (optional), ``spectrum_<site>`` (optional) and ``initial_structure``
    (optional: a user's cell, whose ``source_filename`` and ``source_sha256`` each row carries). Requested sites lacking a
    spectrum or a charge are listed in the manifest under ``missing``, never silently dropped.

    One calcfunction per structure keeps each call's input links in the hundreds: aiida-core
    checks every new link of an unstored node against all earlier ones, so one call with all
    sites of a paper-size dataset (5,290 spectrum links) is quadratic and takes many minutes.
    """
    structure, rdf_node = kwargs['structure'], kwargs['rdfs']
    charge_node = kwargs.get('charges')
    meta = {'x': kwargs['x'].value, 'seed': kwargs['seed'].value}
    initial = kwargs.get('initial_structure')
    source = {key: initial.base.attributes.get(key, None) for key in ('source_filename', 'source_sha256')} if initial else {}
    rdf_sites = list(rdf_node.get_array('sites'))
    rdf_total, n_o_all, n_si_all = rdf_node.get_array('rdf_total'), rdf_node.get_array('n_o'), rdf_node.get_array('n_si')
    charges_all = charge_node.get_array('charge') if charge_node is not None else None
    rows, missing, spectra, charges, rdfs = [], [], [], [], []
    columns = {k: [] for k in ROW_COLUMNS}
    for site in kwargs['sites'].get_list():
        spectrum_node = kwargs.get(f'spectrum_{site}')
        reason = missing_reason(spectrum_node, charge_node)
        if reason:
            missing.append({'structure': structure.uuid, 'site': int(site), 'reason': reason})
            continue
        site_index = rdf_sites.index(site)
        intensity = spectrum_node.get_y()[0][1]
        spectra.append(intensity)
        charges.append(charges_all[site])
        rdfs.append(rdf_total[site_index])
        values = (meta['x'], meta['seed'], site, int(n_o_all[site_index]), int(n_si_all[site_index]))
        for name, value in zip(ROW_COLUMNS, values, strict=True):
            columns[name].append(value)
        rows.append(
            {
                'structure': structure.uuid,
                'site': int(site),
                'x': meta['x'],
                'seed': meta['seed'],
                'spectrum': spectrum_node.uuid,
                'charges': charge_node.uuid,
                'rdfs': rdf_node.uuid,
                **{key: value for key, value in source.items() if value is not None},
            }
        )
    n = len(rows)
    table = orm.ArrayData()
    table.set_array('spectra', np.array(spectra, float).reshape(n, len(ML_GRID)))
    table.set_array('charge', np.array(charges, float))
    table.set_array('rdf', np.array(rdfs, float).reshape(n, rdf.N_POINTS))
    table.set_array('r', rdf_node.get_array('r'))
    table.set_array('x', np.array(columns['x'], float))
    for name in ROW_COLUMNS[1:]:
        table.set_array(name, np.array(columns[name], int))
    return {'rows': table, 'manifest': orm.Dict({'rows': rows, 'missing': missing})}


def _structure_keys(kwargs: dict) -> list[str]:
    return sorted({key.split('_', 1)[0] for key in kwargs}, key=lambda key: int(key[1:]))


@calcfunction
def assemble_dataset(**kwargs: orm.Data) -> dict[str, orm.Data]:
    """One table of all structures: rows (spectrum, Bader charge, RDF, x, seed, site, n_O, n_Si) and manifest.

    Inputs per structure ``s<k>``: ``s<k>_rows`` and ``s<k>_manifest``, the outputs of
    :func:`structure_rows`. The manifest lists, per row, the UUIDs of its structure, spectrum,
    charge and RDF nodes, and every requested site that is missing and why.
    """
    keys = _structure_keys(kwargs)
    tables = [kwargs[f'{key}_rows'] for key in keys]
    manifests = [kwargs[f'{key}_manifest'] for key in keys]
    rows = [row for manifest in manifests for row in manifest['rows']]
    missing = [item for manifest in manifests for item in manifest['missing']]
    if not rows:
        raise ValueError('no site has both a spectrum and a Bader charge: nothing to assemble')
    dataset = orm.ArrayData()
    for name in ('spectra', 'charge', 'rdf', *ROW_COLUMNS):
        dataset.set_array(name, np.concatenate([table.get_array(name) for table in tables]))
    dataset.set_array('energy', ML_GRID)
    dataset.set_array('r', tables[0].get_array('r'))
    return {'dataset': dataset, 'manifest': orm.Dict({'rows': rows, 'missing': missing, 'n_rows': len(rows)})}


@calcfunction
def structure_averages(dataset: orm.ArrayData, manifest: orm.Dict) -> orm.ArrayData:
    """Per structure: mean aligned spectrum, mean Bader charge and mean RDF over its sites in the dataset."""
    rows = manifest['rows']
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
