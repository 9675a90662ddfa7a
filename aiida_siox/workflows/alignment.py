"""Re-aligning stored spectra: graphs made before xspectra's energy zero was part of the alignment.

Such a graph holds, per site, the raw spectrum, E_tot(FCH) - E_tot(ground) and the xspectra runs,
whose output holds the energy zero E0. :func:`realign` recomputes nothing: calcfunctions make the
``fch`` alignment of every site from those nodes, a new alpha-quartz calibration from the old
calibration's own quartz spectrum, and new aligned spectra. Each old aligned spectrum is marked
superseded (extras both ways), so that dataset assembly and ``siox provenance`` take the new one.
"""

from __future__ import annotations

from collections.abc import Callable

from aiida import orm

from aiida_siox.calculations.spectra import align_site_spectrum, quartz_calibration, site_alignment
from aiida_siox.graph import RAW_SPECTRUM_MAKERS, SUPERSEDED_BY, SUPERSEDES


def xspectra_run_of(raw: orm.XyData) -> orm.CalcJobNode:
    """The xspectra job (x polarisation) behind a raw site spectrum (made by one of :data:`RAW_SPECTRUM_MAKERS`)."""
    creator = raw.creator
    if creator is None or creator.process_label not in RAW_SPECTRUM_MAKERS:
        raise ValueError(f'<{raw.pk}> is not a raw site spectrum (made by {" or ".join(RAW_SPECTRUM_MAKERS)})')
    return creator.inputs.spectrum_x.creator


def fch_alignment_of(raw: orm.XyData, delta_scf: orm.Float) -> orm.Dict:
    """The ``fch`` alignment of a site from its stored raw spectrum's xspectra run (a calcfunction; nothing recomputed)."""
    xspectra = xspectra_run_of(raw)
    if 'xspectra_parameters' in xspectra.outputs:  # a site job (CoreHoleXspectraCalculation): SCF and xspectra in one
        return site_alignment(delta_scf, xspectra.inputs.xspectra.parameters, xspectra.outputs.xspectra_parameters)
    return site_alignment(delta_scf, xspectra.inputs.parameters, xspectra.outputs.output_parameters)


def newest_version(spectrum: orm.XyData) -> orm.XyData:
    """The aligned spectrum that replaced ``spectrum`` after ``siox realign`` (itself if none did)."""
    while SUPERSEDED_BY in spectrum.base.extras:
        spectrum = orm.load_node(spectrum.base.extras.get(SUPERSEDED_BY))
    return spectrum


def realigned_calibration(calibration: orm.Dict) -> orm.Dict:
    """A calibration with E0 in the alignment, from the quartz spectrum of an older ``calibration``."""
    if calibration.get('alignment'):
        return calibration
    creator = calibration.creator
    if creator is None or creator.process_label != 'quartz_calibration' or 'delta_scf' not in creator.inputs:
        raise ValueError(f'calibration <{calibration.pk}> was not made by quartz_calibration from a quartz spectrum: give another one')
    raw, delta_scf = creator.inputs.raw, creator.inputs.delta_scf
    structure = raw.creator.inputs.core_hole_parameters.creator.inputs.structure
    return quartz_calibration(raw, fch_alignment_of(raw, delta_scf), creator.inputs.target_ev, structure)


def site_spectra_to_realign(node: orm.ProcessNode) -> list[tuple[orm.XyData, orm.XyData, orm.Float]]:
    """(aligned, raw, Delta-SCF) of every site aligned without E0 at or under a SiteXanes/structure/dataset workchain."""
    from aiida_siox.workflows.rerun_failed import site_xanes_runs

    found = []
    for run in site_xanes_runs(node):
        if 'aligned_spectra' not in run.outputs:
            continue
        for key, aligned in run.outputs.aligned_spectra.items():
            aligned = newest_version(aligned)
            if 'alignment' not in aligned.creator.inputs:
                found.append((aligned, run.outputs.raw_spectra[key], run.outputs.delta_scf[key]))
    return found


def calibration_of(node: orm.ProcessNode) -> orm.Dict:
    """The calibration a dataset, structure or XANES workchain aligned its spectra with."""
    if 'calibration' in node.outputs:
        return node.outputs.calibration
    for candidate in (node, *node.called_descendants):
        if 'calibration' in candidate.inputs:
            return candidate.inputs.calibration
        if 'xanes' in candidate.inputs and 'calibration' in candidate.inputs.xanes:
            return candidate.inputs.xanes.calibration
    raise ValueError(f'<{node.pk}> has no calibration to realign with')


def realign(node: orm.ProcessNode, calibration: orm.Dict | None = None, echo: Callable[[str], None] = print) -> dict:
    """Re-align every site spectrum aligned without E0 under ``node``; returns {old uuid: new aligned node}."""
    sites = site_spectra_to_realign(node)
    if not sites:
        return {}
    calibration = realigned_calibration(calibration or calibration_of(node))
    echo(f'calibration <{calibration.pk}>: C = {calibration["constant_ev"]:.4f} eV ({calibration["alignment"]} form)')
    replaced = {}
    for old, raw, delta_scf in sites:
        new = align_site_spectrum(raw, fch_alignment_of(raw, delta_scf), calibration)
        old.base.extras.set(SUPERSEDED_BY, new.uuid)
        new.base.extras.set(SUPERSEDES, old.uuid)
        replaced[old.uuid] = new
        echo(f'  spectrum <{old.pk}> -> <{new.pk}>')
    return replaced
