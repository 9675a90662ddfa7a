"""Calcfunctions for per-site spectra: isotropic average + Delta-SCF, calibration, alignment.

Each returns new nodes so that every aligned spectrum's provenance reaches the xspectra runs,
both SCF energies (Delta-SCF) and the alpha-quartz calibration it used.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis import spectrum


def _xy(energy: np.ndarray, intensity: np.ndarray, energy_label: str) -> orm.XyData:
    node = orm.XyData()
    node.set_x(np.asarray(energy, float), energy_label, 'eV')
    node.set_y(np.asarray(intensity, float), 'sigma', 'arb. units')
    return node


@calcfunction
def isotropic_site_spectrum(
    spectrum_x: orm.XyData,
    spectrum_y: orm.XyData,
    spectrum_z: orm.XyData,
    ground_parameters: orm.Dict,
    core_hole_parameters: orm.Dict,
) -> dict[str, orm.Data]:
    """Powder spectrum on xspectra's energy axis (``raw``) and the Delta-SCF shift in eV."""
    grids = [s.get_x()[1] for s in (spectrum_x, spectrum_y, spectrum_z)]
    if any(g.shape != grids[0].shape or not np.allclose(g, grids[0]) for g in grids[1:]):
        raise ValueError('the three polarisations were computed on different energy grids')
    intensity = spectrum.isotropic_spectrum([s.get_y()[0][1] for s in (spectrum_x, spectrum_y, spectrum_z)])
    shift = spectrum.delta_scf_shift(core_hole_parameters['energy'], ground_parameters['energy'])
    return {'raw': _xy(grids[0], intensity, 'energy_xspectra'), 'delta_scf': orm.Float(shift)}


@calcfunction
def quartz_calibration(raw: orm.XyData, delta_scf: orm.Float, target_ev: orm.Float) -> orm.Dict:
    """Calibration constant C placing alpha-quartz's main peak (after Delta-SCF) at ``target_ev``."""
    energy = raw.get_x()[1] + delta_scf.value
    peak = spectrum.main_peak_energy(energy, raw.get_y()[0][1])
    constant = spectrum.calibration_constant(peak, target_ev.value)
    return orm.Dict({'constant_ev': constant, 'quartz_peak_relative_ev': peak, 'target_ev': target_ev.value})


@calcfunction
def align_site_spectrum(raw: orm.XyData, delta_scf: orm.Float, calibration: orm.Dict) -> orm.XyData:
    """Spectrum on the ML grid (1830-1880 eV, 256 points): E = E_xspectra + Delta-SCF + C."""
    energy, intensity = raw.get_x()[1], raw.get_y()[0][1]
    aligned = spectrum.align_spectrum(energy, intensity, delta_scf.value, calibration['constant_ev'])
    return _xy(spectrum.ML_GRID, aligned, 'energy')
