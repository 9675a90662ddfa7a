"""Calcfunctions for the dataset: per-site RDFs and the assembled table (one row per Si site)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis import rdf
from aiida_siox.analysis.spectrum import ML_GRID
from aiida_siox.analysis.structure_averages import average_by_structure


@calcfunction
def site_rdfs(structure: orm.StructureData) -> orm.ArrayData:
    """RDF (total, Si, O partials; 256 points on 0-5 A) and coordination (n_O, n_Si) of every Si site."""
    atoms = structure.get_ase()
    symbols = atoms.get_chemical_symbols()
    sites = [i for i, s in enumerate(symbols) if s == 'Si']
    curves = [rdf.site_rdf(atoms.positions, atoms.cell[:], symbols, i) for i in sites]
    coordination = np.array([rdf.coordination(atoms.positions, atoms.cell[:], symbols, i) for i in sites], int).reshape(-1, 2)
    node = orm.ArrayData()
    node.set_array('sites', np.array(sites, int))
    node.set_array('r', curves[0]['r'] if curves else np.zeros(rdf.N_POINTS))
    for key in ('total', 'Si', 'O'):
        node.set_array(f'rdf_{key}', np.array([c[key] for c in curves]).reshape(len(sites), rdf.N_POINTS))
    node.set_array('n_o', coordination[:, 0])
    node.set_array('n_si', coordination[:, 1])
    return node


def _structure_keys(kwargs: dict) -> list[str]:
    return sorted({key.split('_', 1)[0] for key in kwargs})


@calcfunction
def assemble_dataset(**kwargs: orm.Data) -> dict[str, orm.Data]:
    """One row per Si site with spectrum, Bader charge, RDF, composition, seed and node UUIDs.

    Inputs per structure ``s<k>`` (flat link labels): ``s<k>_structure``, ``s<k>_x`` (Float),
    ``s<k>_seed`` (Int), ``s<k>_sites`` (List of requested sites), ``s<k>_rdfs``, ``s<k>_charges``
    (optional) and ``s<k>_spectrum_<site>`` (optional). Requested sites lacking a spectrum or a
    charge are left out and listed in the manifest under ``missing``, never silently dropped.
    """
    rows, missing = [], []
    spectra, charges, rdfs, columns = [], [], [], {k: [] for k in ('x', 'seed', 'site', 'n_o', 'n_si')}
    r_grid = None
    for key in _structure_keys(kwargs):
        structure = kwargs[f'{key}_structure']
        meta = {'x': kwargs[f'{key}_x'].value, 'seed': kwargs[f'{key}_seed'].value}
        rdf_node = kwargs[f'{key}_rdfs']
        charge_node = kwargs.get(f'{key}_charges')
        r_grid = rdf_node.get_array('r')
        rdf_sites = list(rdf_node.get_array('sites'))
        for site in kwargs[f'{key}_sites'].get_list():
            spectrum_node = kwargs.get(f'{key}_spectrum_{site}')
            if spectrum_node is None or charge_node is None:
                reason = 'no spectrum (site failed or not run)' if spectrum_node is None else 'no Bader charge'
                missing.append({'structure': structure.uuid, 'site': int(site), 'reason': reason})
                continue
            site_index = rdf_sites.index(site)
            energy, intensity = spectrum_node.get_x()[1], spectrum_node.get_y()[0][1]
            if energy.shape != ML_GRID.shape or not np.allclose(energy, ML_GRID):
                raise ValueError(f'spectrum {spectrum_node.uuid} is not on the ML grid (1830-1880 eV, 256 points)')
            spectra.append(intensity)
            charges.append(charge_node.get_array('charge')[site])
            rdfs.append(rdf_node.get_array('rdf_total')[site_index])
            n_o, n_si = int(rdf_node.get_array('n_o')[site_index]), int(rdf_node.get_array('n_si')[site_index])
            for name, value in (('x', meta['x']), ('seed', meta['seed']), ('site', site), ('n_o', n_o), ('n_si', n_si)):
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
                }
            )
    if not rows:
        raise ValueError('no site has both a spectrum and a Bader charge: nothing to assemble')
    table = orm.ArrayData()
    table.set_array('spectra', np.array(spectra, float))
    table.set_array('energy', ML_GRID)
    table.set_array('charge', np.array(charges, float))
    table.set_array('rdf', np.array(rdfs, float))
    table.set_array('r', r_grid)
    table.set_array('x', np.array(columns['x'], float))
    table.set_array('seed', np.array(columns['seed'], int))
    table.set_array('site', np.array(columns['site'], int))
    table.set_array('n_o', np.array(columns['n_o'], int))
    table.set_array('n_si', np.array(columns['n_si'], int))
    return {'dataset': table, 'manifest': orm.Dict({'rows': rows, 'missing': missing, 'n_rows': len(rows)})}


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
