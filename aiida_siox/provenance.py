"""Where a spectrum came from: the chain from an aligned (or raw) spectrum back to composition and seed.

The walk follows creator links only (one query each), so it costs a few dozen queries whatever the
size of the profile:

    aligned --align_site_spectrum--> raw, alignment (form, E0, Delta-SCF[, XCH terms]), calibration
    raw --isotropic_site_spectrum--> xspectra x/y/z, ground-state SCF, core-hole SCF
    core-hole SCF --structure--> mark_absorber(quenched structure, site)
    quenched structure --parse_melt_quench--> MeltQuenchWorkChain (seed) --> build_amorphous_seed(x, seed, n)
"""

from __future__ import annotations

from aiida import orm

from aiida_siox.analysis.rdf import coordination, coordination_label
from aiida_siox.graph import SUPERSEDED_BY

#: Terms of a site's alignment as `siox provenance` prints them.
ALIGNMENT_TERMS = (
    ('energy_zero_ev', 'xspectra E0'),
    ('first_empty_level_ev', 'first empty FCH level'),
    ('delta_scf_excited_ev', 'E(XCH) - E(ground)'),
    ('shift_ev', 'E - E_xspectra before C'),
)


class ProvenanceError(ValueError):
    """The node is not something whose origin this module knows how to trace."""


def _calc_summary(calc: orm.CalcJobNode) -> dict:
    """Code, version, parameters and pseudopotentials of one calculation."""
    summary = {'pk': calc.pk, 'uuid': calc.uuid, 'process': calc.process_label, 'exit_status': calc.exit_status}
    if 'code' in calc.inputs:
        code = calc.inputs.code
        summary['code'] = code.full_label
        summary['executable'] = str(code.get_executable()) if hasattr(code, 'get_executable') else None
    if 'output_parameters' in calc.outputs:
        output = calc.outputs.output_parameters
        summary['code_version'] = output.get('code_version') or output.get('creator_version')
        if 'energy' in output.keys():
            summary['energy_ev'] = output['energy']
    if 'parameters' in calc.inputs:
        summary['parameters'] = calc.inputs.parameters.get_dict()
    if 'pseudos' in calc.inputs:
        summary['pseudos'] = {
            kind: {'filename': pseudo.filename, 'md5': pseudo.md5, 'made_by': pseudo.creator.pk if pseudo.creator else None}
            for kind, pseudo in calc.inputs.pseudos.items()
        }
    return summary


def _origin_of_structure(structure: orm.StructureData) -> dict:
    """Composition, seed, MD run and starting cell of a quenched structure (as far as they are recorded)."""
    origin: dict = {'structure': {'pk': structure.pk, 'uuid': structure.uuid, 'formula': structure.get_formula()}}
    parse = structure.creator
    if parse is None or parse.process_label != 'parse_melt_quench':
        origin['melt_quench'] = None  # a structure the user stored directly: no MD behind it
        return origin
    md = parse.caller
    parameters = md.inputs.parameters.get_dict() if md is not None and 'parameters' in md.inputs else {}
    origin['melt_quench'] = {
        'pk': md.pk if md else None,
        'uuid': md.uuid if md else None,
        'md_seed': parameters.get('seed'),
        'jobs': [n.pk for n in md.called if n.process_label == 'LammpsRawCalculation'] if md else [],
        'code': next((n.inputs.code.full_label for n in md.called if 'code' in n.inputs), None) if md else None,
    }
    build = parse.inputs.initial_structure.creator
    if build is not None and build.process_label == 'build_amorphous_seed':
        origin.update(x=build.inputs.x.value, seed=build.inputs.seed.value, supercell=build.inputs.supercell.value)
    return origin


def spectrum_provenance(spectrum: orm.XyData) -> dict:
    """The full chain behind one site's spectrum (aligned or raw), as a JSON-friendly dict."""
    creator = spectrum.creator
    if creator is None or creator.process_label not in ('align_site_spectrum', 'isotropic_site_spectrum'):
        label = creator.process_label if creator is not None else 'no creator'
        raise ProvenanceError(f'<{spectrum.pk}> is not a site spectrum of this plugin (made by {label})')
    result: dict = {'spectrum': {'pk': spectrum.pk, 'uuid': spectrum.uuid, 'kind': 'aligned'}}
    superseded_by = spectrum.base.extras.get(SUPERSEDED_BY, None)
    if superseded_by is not None:
        result['spectrum']['superseded_by'] = orm.load_node(superseded_by).pk
    if creator.process_label == 'align_site_spectrum':
        raw, calibration = creator.inputs.raw, creator.inputs.calibration
        terms = creator.inputs.alignment.get_dict() if 'alignment' in creator.inputs else {'form': 'none (E0 left out: superseded physics)'}
        result['alignment'] = {
            **terms,
            'calibration_constant_ev': calibration['constant_ev'],
            'calibration_pk': calibration.pk,
            'calibration_target_ev': calibration.get('target_ev'),
            'calibration_form': calibration.get('alignment'),
            'calibration_cell_atoms': calibration.get('cell', {}).get('n_atoms'),
            'calibration_made_by': calibration.creator.pk if calibration.creator else None,
        }
    else:
        raw = spectrum
        result['spectrum']['kind'] = 'raw'
    average = raw.creator
    core_hole = average.inputs.core_hole_parameters.creator
    ground = average.inputs.ground_parameters.creator
    result['raw_spectrum'] = {'pk': raw.pk, 'uuid': raw.uuid}
    result.setdefault('alignment', {})['delta_scf_ev'] = float(
        average.inputs.core_hole_parameters['energy'] - average.inputs.ground_parameters['energy']
    )
    result['ground_state_scf'] = _calc_summary(ground)
    result['core_hole_scf'] = _calc_summary(core_hole)
    result['xspectra'] = {pol: _calc_summary(average.inputs[f'spectrum_{pol}'].creator) for pol in ('x', 'y', 'z')}

    marked = core_hole.inputs.structure
    mark = marked.creator
    site = mark.inputs.site.value
    quenched = mark.inputs.structure
    result.update(_origin_of_structure(quenched))
    ase = quenched.get_ase()
    n_o, n_si = coordination(ase.get_positions(), ase.get_cell().array, ase.get_chemical_symbols(), site)
    result['site'] = {'index': site, 'n_o': n_o, 'n_si': n_si, 'class': coordination_label(n_o, n_si)}
    return result


def dataset_row_spectrum(dataset: orm.ArrayData, row: int) -> orm.XyData:
    """The aligned spectrum node of row ``row`` of an ``assemble_dataset`` table."""
    creator = dataset.creator
    if creator is None or creator.process_label != 'assemble_dataset':
        raise ProvenanceError(f'<{dataset.pk}> is not a dataset made by assemble_dataset')
    rows = creator.outputs.manifest['rows']
    if not 0 <= row < len(rows):
        raise ProvenanceError(f'row {row} is out of range: the dataset has {len(rows)} rows (0 to {len(rows) - 1})')
    return orm.load_node(rows[row]['spectrum'])


def provenance_text(chain: dict) -> str:
    """Human-readable rendering of :func:`spectrum_provenance`."""
    md, site = chain.get('melt_quench') or {}, chain['site']
    lines = [
        f'spectrum        <{chain["spectrum"]["pk"]}> ({chain["spectrum"]["kind"]}) {chain["spectrum"]["uuid"]}',
        *(
            [f'SUPERSEDED      by <{chain["spectrum"]["superseded_by"]}> (siox realign): use that one']
            if 'superseded_by' in chain['spectrum']
            else []
        ),
        f'composition     x = {chain.get("x", "?")}, structure seed {chain.get("seed", "?")}, supercell n = {chain.get("supercell", "?")}',
        f'melt-quench     MeltQuenchWorkChain<{md.get("pk")}> md seed {md.get("md_seed")}, LAMMPS jobs {md.get("jobs")} ({md.get("code")})'
        if md
        else 'melt-quench     none recorded (structure stored by hand)',
        f'structure       <{chain["structure"]["pk"]}> {chain["structure"]["formula"]} {chain["structure"]["uuid"]}',
        f'site            {site["index"]}: {site["class"]} ({site["n_o"]} O, {site["n_si"]} Si neighbours)',
    ]
    for label in ('ground_state_scf', 'core_hole_scf'):
        calc = chain[label]
        pseudos = ', '.join(f'{kind}={p["filename"]}' for kind, p in calc.get('pseudos', {}).items())
        system = calc.get('parameters', {}).get('SYSTEM', {})
        lines.append(
            f'{label:<15} <{calc["pk"]}> {calc.get("code")} v{calc.get("code_version")} E = {calc.get("energy_ev")} eV; '
            f'ecutwfc {system.get("ecutwfc")} Ry, tot_charge {system.get("tot_charge", 0)}; pseudos {pseudos}'
        )
    lines.append('xspectra        ' + ', '.join(f'{pol}: <{calc["pk"]}>' for pol, calc in chain['xspectra'].items()))
    alignment = chain['alignment']
    lines.append(f'Delta-SCF       E(FCH) - E(ground) = {alignment["delta_scf_ev"]:.4f} eV')
    if 'form' in alignment:
        lines.append(
            f'alignment       {alignment["form"]}'
            + ''.join(f'; {label} {alignment[key]:.4f} eV' for key, label in ALIGNMENT_TERMS if key in alignment)
        )
    if 'calibration_constant_ev' in alignment:
        cell = f', {alignment["calibration_cell_atoms"]}-atom quartz' if alignment.get('calibration_cell_atoms') else ''
        lines.append(
            f'calibration     C = {alignment["calibration_constant_ev"]:.4f} eV (<{alignment["calibration_pk"]}>, '
            f'{alignment.get("calibration_form") or "no"} form{cell}, quartz peak at {alignment["calibration_target_ev"]} eV)'
        )
    return '\n'.join(lines)
