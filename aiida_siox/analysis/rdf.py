"""Per-site radial distribution functions and coordination classes (paper: 'Dataset').

g(R) = dN(R)/dR / (4 pi R^2 rho), rho the total number density of the cell, counted over all Si and
O within ``r_max`` of the absorbing Si, on ``n_points`` bin centres in (0, r_max].

dN/dR is a sum of Gaussians, one per neighbour (width ``sigma``, a protocol key recorded in the
graph): a raw 0.0195 A histogram of a few dozen neighbours is a row of spikes (g up to ~80) that no
network can fit. ``sigma = 0`` gives the raw histogram. Neighbours come from ASE's periodic
neighbour list, which includes every periodic image (the toy cells are narrower than 2 r_max).
"""

from __future__ import annotations

import numpy as np
from ase.neighborlist import primitive_neighbor_list

R_MAX = 5.0
N_POINTS = 256
#: Default Gaussian width of each neighbour in g(R) (A); docs/method.md says why.
RDF_SIGMA = 0.1
#: Bond cut-offs (A) for counting first-shell neighbours of a Si; between the first and second
#: shells of a-Si (2.35/3.8 A) and a-SiO2 (1.61/3.1 A).
BOND_CUTOFF = {'O': 2.0, 'Si': 2.7}


def neighbour_pairs(positions: np.ndarray, cell: np.ndarray, r_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) of every pair closer than ``r_max`` in the periodic cell, all images included."""
    return primitive_neighbor_list(
        'ijd', (True, True, True), np.asarray(cell, float), np.asarray(positions, float), r_max, self_interaction=False
    )


def site_distances(positions: np.ndarray, cell: np.ndarray, site: int, r_max: float = R_MAX) -> tuple[np.ndarray, np.ndarray]:
    """Distances (and atom indices) of all atoms and images within ``r_max`` of ``site``, self excluded."""
    i, j, d = neighbour_pairs(positions, cell, r_max)
    return d[i == site], j[i == site]


def radial_grid(r_max: float = R_MAX, n_points: int = N_POINTS) -> np.ndarray:
    """Bin centres of the RDF grid: ``n_points`` on (0, r_max]."""
    return (np.arange(n_points) + 0.5) * (r_max / n_points)


def radial_density(distances: np.ndarray, r: np.ndarray, sigma: float) -> np.ndarray:
    """dN/dR on ``r``: unit-area Gaussians of width ``sigma`` at ``distances`` (a histogram when sigma = 0)."""
    dr = r[1] - r[0]
    if sigma <= 0:
        counts, _ = np.histogram(distances, bins=np.append(r - 0.5 * dr, r[-1] + 0.5 * dr))
        return counts / dr
    z = (r[None, :] - np.asarray(distances, float)[:, None]) / sigma
    return np.exp(-0.5 * z**2).sum(axis=0) / (sigma * np.sqrt(2.0 * np.pi))


def site_rdfs(
    positions: np.ndarray,
    cell: np.ndarray,
    symbols: list[str],
    sites: list[int],
    sigma: float = RDF_SIGMA,
    r_max: float = R_MAX,
    n_points: int = N_POINTS,
) -> dict[str, np.ndarray]:
    """RDFs of ``sites``: ``r`` and (sites, n_points) arrays ``total``, ``Si``, ``O``; one neighbour search.

    All three are normalised by the *total* number density, as in the paper, so the partials sum
    to the total.
    """
    positions, cell, symbols = np.asarray(positions, float), np.asarray(cell, float), np.asarray(symbols)
    if sigma < 0:
        raise ValueError(f'the RDF broadening sigma must be >= 0, got {sigma}')
    rho = len(positions) / abs(np.linalg.det(cell))
    r = radial_grid(r_max, n_points)
    norm = 4.0 * np.pi * r**2 * rho
    i, j, d = neighbour_pairs(positions, cell, r_max)
    result = {'r': r, **{label: np.zeros((len(sites), n_points)) for label in ('total', 'Si', 'O')}}
    for row, site in enumerate(sites):
        mine = i == site
        for label in ('Si', 'O'):
            result[label][row] = radial_density(d[mine & (symbols[j] == label)], r, sigma) / norm
        result['total'][row] = result['Si'][row] + result['O'][row]
    return result


def site_rdf(
    positions: np.ndarray,
    cell: np.ndarray,
    symbols: list[str],
    site: int,
    sigma: float = RDF_SIGMA,
    r_max: float = R_MAX,
    n_points: int = N_POINTS,
) -> dict[str, np.ndarray]:
    """RDF of one Si site: ``r`` and the ``total``, ``Si`` and ``O`` curves (see :func:`site_rdfs`)."""
    curves = site_rdfs(positions, cell, symbols, [site], sigma, r_max, n_points)
    return {key: value if key == 'r' else value[0] for key, value in curves.items()}


def coordination(positions: np.ndarray, cell: np.ndarray, symbols: list[str], site: int) -> tuple[int, int]:
    """(number of O, number of Si) bonded to ``site`` using :data:`BOND_CUTOFF`."""
    return coordinations(positions, cell, symbols, [site])[0]


def coordinations(positions: np.ndarray, cell: np.ndarray, symbols: list[str], sites: list[int]) -> list[tuple[int, int]]:
    """(n_O, n_Si) bonded to each of ``sites`` (one neighbour search for all of them)."""
    i, j, d = neighbour_pairs(positions, cell, max(BOND_CUTOFF.values()))
    neighbours = np.asarray(symbols)[j]
    bonded = {label: (neighbours == label) & (d < cutoff) for label, cutoff in BOND_CUTOFF.items()}
    return [(int(np.sum(bonded['O'] & (i == site))), int(np.sum(bonded['Si'] & (i == site)))) for site in sites]


def coordination_label(n_o: int, n_si: int) -> str:
    """Paper-style unit label, e.g. ``[SiSi2O2]``; the Si valence class is ``Si{n_o}+`` for n_o <= 4."""
    parts = ['Si']
    if n_si:
        parts.append(f'Si{n_si}' if n_si > 1 else 'Si')
    if n_o:
        parts.append(f'O{n_o}' if n_o > 1 else 'O')
    return '[' + ''.join(parts) + ']'
