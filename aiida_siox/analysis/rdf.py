"""Per-site radial distribution functions and coordination classes (paper: 'Dataset').

g(R) = dN(R)/dR / (4 pi R^2 rho), rho the total number density of the cell, counted over all Si and
O within ``r_max`` of the absorbing Si, on a uniform grid of ``n_points`` bin centres in (0, r_max].
"""

from __future__ import annotations

import numpy as np

R_MAX = 5.0
N_POINTS = 256
#: Bond cut-offs (A) for counting first-shell neighbours of a Si; between the first and second
#: shells of a-Si (2.35/3.8 A) and a-SiO2 (1.61/3.1 A).
BOND_CUTOFF = {'O': 2.0, 'Si': 2.7}


def minimum_image_vectors(positions: np.ndarray, cell: np.ndarray, centre: np.ndarray, r_max: float) -> np.ndarray:
    """Vectors from ``centre`` to every periodic image of ``positions`` within ``r_max`` (all images).

    Cells shorter than 2 * r_max are handled by including enough image shells, so the result is
    exact for any cell shape (the toy cells are only ~7.5 A wide).
    """
    inv = np.linalg.inv(cell)
    # Image shell count per axis: distance between lattice planes vs r_max.
    heights = 1.0 / np.linalg.norm(inv, axis=0)
    reps = np.ceil(r_max / heights).astype(int)
    shifts = (
        np.array(
            [[i, j, k] for i in range(-reps[0], reps[0] + 1) for j in range(-reps[1], reps[1] + 1) for k in range(-reps[2], reps[2] + 1)],
            float,
        )
        @ cell
    )
    frac = (positions - centre) @ inv
    wrapped = (frac - np.round(frac)) @ cell
    vectors = (wrapped[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    return vectors


def site_distances(positions: np.ndarray, cell: np.ndarray, site: int, r_max: float = R_MAX) -> tuple[np.ndarray, np.ndarray]:
    """Distances (and atom indices) of all atoms and images within ``r_max`` of ``site``, self excluded."""
    n = len(positions)
    vectors = minimum_image_vectors(positions, cell, positions[site], r_max)
    dist = np.linalg.norm(vectors, axis=1)
    index = np.tile(np.arange(n), len(vectors) // n)
    keep = (dist < r_max) & (dist > 1e-8)
    return dist[keep], index[keep]


def site_rdf(
    positions: np.ndarray,
    cell: np.ndarray,
    symbols: list[str],
    site: int,
    r_max: float = R_MAX,
    n_points: int = N_POINTS,
) -> dict[str, np.ndarray]:
    """RDF of one Si site: total, Si-Si and Si-O partials on ``n_points`` bin centres.

    All three are normalised by the *total* number density, as in the paper, so the partials sum to
    the total.
    """
    positions = np.asarray(positions, float)
    cell = np.asarray(cell, float)
    symbols_arr = np.asarray(symbols)
    rho = len(positions) / abs(np.linalg.det(cell))
    edges = np.linspace(0.0, r_max, n_points + 1)
    r = 0.5 * (edges[1:] + edges[:-1])
    dr = edges[1] - edges[0]
    dist, index = site_distances(positions, cell, site, r_max)
    norm = 4.0 * np.pi * r**2 * rho * dr
    result = {'r': r}
    for label, mask in (('total', np.ones(len(dist), bool)), ('Si', symbols_arr[index] == 'Si'), ('O', symbols_arr[index] == 'O')):
        counts, _ = np.histogram(dist[mask], bins=edges)
        result[label] = counts / norm
    return result


def coordination(positions: np.ndarray, cell: np.ndarray, symbols: list[str], site: int) -> tuple[int, int]:
    """(number of O, number of Si) bonded to ``site`` using :data:`BOND_CUTOFF`."""
    dist, index = site_distances(np.asarray(positions, float), np.asarray(cell, float), site, max(BOND_CUTOFF.values()))
    neighbours = np.asarray(symbols)[index]
    n_o = int(np.sum((neighbours == 'O') & (dist < BOND_CUTOFF['O'])))
    n_si = int(np.sum((neighbours == 'Si') & (dist < BOND_CUTOFF['Si'])))
    return n_o, n_si


def coordination_label(n_o: int, n_si: int) -> str:
    """Paper-style unit label, e.g. ``[SiSi2O2]``; the Si valence class is ``Si{n_o}+`` for n_o <= 4."""
    parts = ['Si']
    if n_si:
        parts.append(f'Si{n_si}' if n_si > 1 else 'Si')
    if n_o:
        parts.append(f'O{n_o}' if n_o > 1 else 'O')
    return '[' + ''.join(parts) + ']'
