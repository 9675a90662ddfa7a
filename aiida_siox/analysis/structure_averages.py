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
