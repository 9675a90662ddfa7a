"""Calcfunctions for per-site spectra: isotropic average, per-site alignment, calibration, aligned spectrum.

Each returns new nodes so that every aligned spectrum's provenance reaches the xspectra runs (and
their energy zero), the SCF energies of the transition-energy correction and the alpha-quartz
calibration it used. The physics is in :mod:`aiida_siox.analysis.spectrum`.
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


def _powder_spectrum(spectra: tuple[orm.XyData, orm.XyData, orm.XyData]) -> orm.XyData:
    grids = [s.get_x()[1] for s in spectra]
    if any(g.shape != grids[0].shape or not np.allclose(g, grids[0]) for g in grids[1:]):
        raise ValueError('the three polarisations were computed on different energy grids')
    intensity = spectrum.isotropic_spectrum([s.get_y()[0][1] for s in spectra])
    return _xy(grids[0], intensity, 'energy_xspectra')


def _alignment_terms(
    delta_scf: float,
    xspectra_parameters: orm.Dict,
    xspectra_output: orm.Dict,
    ground_parameters: orm.Dict | None = None,
    core_hole_bands: orm.BandsData | None = None,
    excited_parameters: orm.Dict | None = None,
) -> dict:
    """The site's alignment (:func:`site_alignment`) as a plain dict."""
    energy_zero = spectrum.xspectra_energy_zero(xspectra_parameters.get_dict().get('INPUT_XSPECTRA', {}), xspectra_output.get_dict())
    terms = {'energy_zero_ev': energy_zero, 'delta_scf_ev': delta_scf}
    if excited_parameters is None:
        terms.update(form='fch', shift_ev=spectrum.fch_shift(energy_zero, delta_scf, 0.0))
    else:
        empty = spectrum.first_empty_level(core_hole_bands.get_bands(), core_hole_bands.get_array('occupations'))
        excited = float(excited_parameters['energy'] - ground_parameters['energy'])
        terms.update(
            form='xch',
            first_empty_level_ev=empty,
            delta_scf_excited_ev=excited,
            shift_ev=spectrum.xch_shift(energy_zero, empty, excited_parameters['energy'], ground_parameters['energy']),
        )
    return terms


@calcfunction
def site_powder_spectrum(
    spectrum_x: orm.XyData,
    spectrum_y: orm.XyData,
    spectrum_z: orm.XyData,
    ground_parameters: orm.Dict,
    core_hole_parameters: orm.Dict,
    xspectra_parameters: orm.Dict,
    xspectra_output: orm.Dict,
    core_hole_bands: orm.BandsData | None = None,
    excited_parameters: orm.Dict | None = None,
    calibration: orm.Dict | None = None,
) -> dict[str, orm.Data]:
    """A site's powder spectrum on xspectra's energy axis (``raw``), E_tot(FCH) - E_tot(ground) in eV
    (``delta_scf``) and its alignment (``alignment``, as :func:`site_alignment` makes it), from its job's outputs;
    with a ``calibration``, also the spectrum on the ML grid at absolute energy (``aligned``, as
    :func:`align_site_spectrum` makes it).

    One calcfunction where graphs made before have up to four (:func:`isotropic_site_spectrum`,
    :func:`site_alignment`, then :func:`align_site_spectrum`): each process costs the engine ~0.15-0.25 s
    per site. The ``xch`` form when the excited-state SCF and the FCH bands are given.
    """
    shift = float(core_hole_parameters['energy'] - ground_parameters['energy'])
    excited = {'ground_parameters': ground_parameters, 'core_hole_bands': core_hole_bands, 'excited_parameters': excited_parameters}
    terms = _alignment_terms(shift, xspectra_parameters, xspectra_output, **(excited if excited_parameters is not None else {}))
    raw = _powder_spectrum((spectrum_x, spectrum_y, spectrum_z))
    result = {'raw': raw, 'delta_scf': orm.Float(shift), 'alignment': orm.Dict(terms)}
    if calibration is not None:
        result['aligned'] = _aligned_spectrum(raw, terms, calibration)
    return result


@calcfunction
def isotropic_site_spectrum(
    spectrum_x: orm.XyData,
    spectrum_y: orm.XyData,
    spectrum_z: orm.XyData,
    ground_parameters: orm.Dict,
    core_hole_parameters: orm.Dict,
) -> dict[str, orm.Data]:
    """Powder spectrum on xspectra's energy axis (``raw``) and E_tot(FCH) - E_tot(ground) in eV (graphs made
    before :func:`site_powder_spectrum`; kept for their provenance)."""
    shift = float(core_hole_parameters['energy'] - ground_parameters['energy'])
    return {'raw': _powder_spectrum((spectrum_x, spectrum_y, spectrum_z)), 'delta_scf': orm.Float(shift)}


@calcfunction
def site_alignment(
    delta_scf: orm.Float,
    xspectra_parameters: orm.Dict,
    xspectra_output: orm.Dict,
    ground_parameters: orm.Dict | None = None,
    core_hole_bands: orm.BandsData | None = None,
    excited_parameters: orm.Dict | None = None,
) -> orm.Dict:
    """The shift E - E_xspectra (before C) of one site, with every term it is made of.

    ``fch`` form from ``delta_scf`` and xspectra's energy zero (its input ``xe0``, the ``xe0`` the site
    job set, or the zero it printed); the ``xch`` form when the excited-state SCF, the FCH bands and the
    ground state are given too. See :mod:`aiida_siox.analysis.spectrum`. ``siox realign`` makes the
    alignment of old graphs' sites with it.
    """
    return orm.Dict(
        _alignment_terms(delta_scf.value, xspectra_parameters, xspectra_output, ground_parameters, core_hole_bands, excited_parameters)
    )


@calcfunction
def quartz_calibration(raw: orm.XyData, alignment: orm.Dict, target_ev: orm.Float, structure: orm.StructureData) -> orm.Dict:
    """Calibration constant C placing alpha-quartz's main peak (E_xspectra + shift) at ``target_ev``.

    Records the alignment form (a calibration only applies to spectra aligned the same way) and the
    quartz cell it was computed on.
    """
    energy = raw.get_x()[1] + alignment['shift_ev']
    peak = spectrum.main_peak_energy(energy, raw.get_y()[0][1])
    atoms = structure.get_ase()
    return orm.Dict(
        {
            'constant_ev': spectrum.calibration_constant(peak, target_ev.value),
            'quartz_peak_without_c_ev': peak,
            'target_ev': target_ev.value,
            'alignment': alignment['form'],
            'cell': {'n_atoms': len(atoms), 'lengths_angstrom': [float(v) for v in atoms.cell.lengths()]},
        }
    )


@calcfunction
def align_site_spectrum(raw: orm.XyData, alignment: orm.Dict, calibration: orm.Dict) -> orm.XyData:
    """Spectrum on the ML grid (1830-1880 eV, 256 points): E = E_xspectra + shift + C.

    Grid points outside the computed range are NaN and the node says so (``covers_grid`` False):
    the dataset lists such a site as missing instead of padding it with zeros.
    """
    return _aligned_spectrum(raw, alignment.get_dict(), calibration)


def _aligned_spectrum(raw: orm.XyData, alignment: dict, calibration: orm.Dict) -> orm.XyData:
    """:func:`align_site_spectrum`'s node, from the raw spectrum, the alignment terms and the calibration."""
    if calibration.get('alignment') != alignment['form']:
        raise ValueError(f'calibration made for the {calibration.get("alignment")!r} form, spectrum aligned with {alignment["form"]!r}')
    energy, intensity = raw.get_x()[1], raw.get_y()[0][1]
    aligned, covered = spectrum.align_spectrum(energy, intensity, alignment['shift_ev'], calibration['constant_ev'])
    node = _xy(spectrum.ML_GRID, aligned, 'energy')
    node.base.attributes.set('alignment', alignment['form'])
    node.base.attributes.set('covered_range_ev', list(covered))
    node.base.attributes.set('covers_grid', spectrum.covers(covered))
    return node
