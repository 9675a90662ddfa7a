"""System-averaged targets: per structure, the mean over its sites (pure numpy, no AiiDA).

These are the inputs of the paper's "generalisation to averaged spectra" test: models trained on
site spectra are applied to each structure's mean spectrum and compared with the mean charge and
the mean RDF of the same sites.
"""

from __future__ import annotations

import numpy as np


def average_by_structure(structure_keys: list[str], spectra: np.ndarray, charge: np.ndarray, rdf: np.ndarray) -> dict[str, np.ndarray]:
    """Mean spectrum, charge and RDF over the rows of each structure, in order of first appearance.

    :param structure_keys: one key (e.g. the structure UUID) per row.
    :returns: ``structure`` (keys), ``n_sites``, ``mean_spectrum``, ``mean_charge``, ``mean_rdf``,
        and ``std_charge`` (spread of the site charges around the mean).
    """
    keys = list(dict.fromkeys(structure_keys))
    if len(structure_keys) != len(spectra) or len(spectra) != len(charge) or len(charge) != len(rdf):
        raise ValueError('structure_keys, spectra, charge and rdf need one entry per row')
    index = np.array([keys.index(key) for key in structure_keys])
    result = {'structure': np.array(keys), 'n_sites': np.bincount(index, minlength=len(keys))}
    result['mean_spectrum'] = np.array([np.asarray(spectra)[index == k].mean(axis=0) for k in range(len(keys))])
    result['mean_charge'] = np.array([np.asarray(charge)[index == k].mean() for k in range(len(keys))])
    result['std_charge'] = np.array([np.asarray(charge)[index == k].std() for k in range(len(keys))])
    result['mean_rdf'] = np.array([np.asarray(rdf)[index == k].mean(axis=0) for k in range(len(keys))])
    return result


def onsets_by_composition(x: np.ndarray, energy: np.ndarray, spectra: np.ndarray) -> dict[float, dict]:
    """Per composition x: the number of sites, the mean spectrum and its onset (eV, :func:`onset_energy`).

    The Si(0) -> Si(4+) edge shift (x = 0 -> x = 2, experiment ~5-6 eV) is what makes the valence
    readable from a spectrum; the demo report and the tests read it from here.
    """
    from aiida_siox.ml.edge import onset_energy

    x, spectra = np.asarray(x, float), np.asarray(spectra, float)
    result = {}
    for value in sorted(set(x.tolist())):
        mean = spectra[x == value].mean(axis=0)
        result[value] = {'n_sites': int((x == value).sum()), 'mean_spectrum': mean, 'onset_ev': onset_energy(energy, mean)}
    return result
