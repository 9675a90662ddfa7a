"""``SiteSpectrumWorkChain``: the Si K-edge spectrum of one site (core-hole SCF + one xspectra job for x, y, z).

The transition energies are aligned per site (docs/method.md): ``fch`` (default) uses the full
core-hole SCF and xspectra's own energy zero; ``xch`` adds a neutral excited-state SCF (a separate
pw.x job) as the paper's cross-check. xspectra's zero (``xe0``) is set midway between the highest occupied
and the first empty level of the core-hole SCF: xspectra's default, the highest level with occupation
> 0.001, is the core-exciton level of c-Si under Gaussian smearing, and cutting the occupied states
through a level leaves a narrow spike at the onset.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_
from aiida.plugins import DataFactory

from aiida_siox.analysis.spectrum import ALIGNMENT_FORMS, occupation_cut_energy
from aiida_siox.calculations.spectra import align_site_spectrum, isotropic_site_spectrum, site_alignment
from aiida_siox.calculations.structure_edit import ABSORBER_KIND, absorber_species_index, mark_absorber
from aiida_siox.calculations.xspectra_polarisations import POLARISATIONS, XspectraPolarisationsCalculation
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.scf_inputs import pw_base_inputs
from aiida_siox.workflows.xspectra_polarisations import XspectraPolarisationsBaseWorkChain

UpfData = DataFactory('pseudo.upf')


def validate_alignment(value, _):
    if value is not None and value.value not in ALIGNMENT_FORMS:
        return f'alignment must be one of {list(ALIGNMENT_FORMS)}, got {value.value!r}'


class SiteSpectrumWorkChain(WorkChain):
    """Core-hole SCF for one Si site, xspectra for x, y, z, powder average and alignment.

    The three polarisations are one job (``XspectraPolarisationsCalculation``: three xspectra.x runs
    in sequence in one directory), not three: each job costs the engine ~3.5 s of fixed cost plus
    an idle gap (quartz site: 6.5 s as one job vs 10.4 s as three). Run side by side instead, the
    three oversubscribe a small machine (21 s vs 10 s measured); on a cluster the site-level
    fan-out gives the parallelism.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The ground-state cell.')
        spec.input('site', valid_type=orm.Int, help='0-based index of the absorbing Si in the structure.')
        spec.input('ground_state', valid_type=orm.Dict, help='output_parameters of the ground-state SCF (Delta-SCF reference).')
        spec.input('core_hole_pseudo', valid_type=UpfData, help='Si pseudopotential with a 1s core hole.')
        spec.input('core_wavefunction', valid_type=orm.SinglefileData, help='1s core orbital for xspectra (filecore).')
        spec.input('calibration', valid_type=orm.Dict, required=False, help='alpha-quartz calibration; without it no aligned spectrum.')
        spec.input(
            'alignment',
            valid_type=orm.Str,
            default=lambda: orm.Str('fch'),
            validator=validate_alignment,
            help="'fch': E0 + [E(FCH) - E(ground)]; 'xch': adds the neutral excited-state SCF (docs/method.md).",
        )
        spec.input(
            'xe0_mid_gap',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(True),
            help="Set xspectra's xe0 (its energy zero and the cut of the occupied states) midway between the core-hole "
            "SCF's highest occupied and first empty level (unless the xspectra parameters set xe0 themselves).",
        )
        spec.expose_inputs(CancelTolerantPwBaseWorkChain, namespace='scf', exclude=('pw.structure',))
        spec.expose_inputs(XspectraPolarisationsCalculation, namespace='xspectra', include=('code', 'parameters', 'metadata', 'kpoints'))
        spec.outline(
            cls.run_core_hole_scf,
            cls.inspect_core_hole_scf,
            if_(cls.needs_excited_state)(cls.run_excited_state_scf, cls.inspect_excited_state_scf),
            cls.run_xspectra,
            cls.inspect_xspectra,
            cls.collect_spectrum,
            if_(cls.has_calibration)(cls.align),
        )
        spec.output('raw', valid_type=orm.XyData, help='Powder spectrum on the xspectra energy axis.')
        spec.output('delta_scf', valid_type=orm.Float, help='E_total(core hole) - E_total(ground), eV.')
        spec.output('alignment', valid_type=orm.Dict, help='form, E0, Delta-SCF (and the XCH terms) and the shift E - E_xspectra before C.')
        spec.output('excited_state_parameters', valid_type=orm.Dict, required=False, help='output_parameters of the XCH SCF.')
        spec.output('aligned', valid_type=orm.XyData, required=False, help='Spectrum on the ML grid, absolute energy.')
        spec.output('core_hole_parameters', valid_type=orm.Dict)
        spec.exit_code(410, 'ERROR_CORE_HOLE_SCF_FAILED', message='The core-hole SCF failed with exit status {status}.')
        spec.exit_code(411, 'ERROR_EXCITED_STATE_SCF_FAILED', message='The excited-state (XCH) SCF failed with exit status {status}.')
        spec.exit_code(420, 'ERROR_XSPECTRA_FAILED', message='The xspectra.x job (x, y, z) failed with exit status {status}.')

    def run_core_hole_scf(self):
        scf = self.exposed_inputs(CancelTolerantPwBaseWorkChain, namespace='scf')
        marked = mark_absorber(self.inputs.structure, self.inputs.site)
        self.ctx.xiabs = absorber_species_index(marked.get_kind_names())
        parameters = scf['pw']['parameters'].get_dict()
        parameters.setdefault('SYSTEM', {})['tot_charge'] = 1.0  # full core hole: the 1s electron is removed
        extra = {ABSORBER_KIND: self.inputs.core_hole_pseudo}
        inputs = pw_base_inputs(scf, marked, 'core_hole_scf', parameters=orm.Dict(parameters), extra_pseudos=extra)
        return ToContext(core_hole=submit_once(self, CancelTolerantPwBaseWorkChain, **inputs))

    def inspect_core_hole_scf(self):
        if not self.ctx.core_hole.is_finished_ok:
            return self.exit_codes.ERROR_CORE_HOLE_SCF_FAILED.format(status=self.ctx.core_hole.exit_status)
        self.out('core_hole_parameters', self.ctx.core_hole.outputs.output_parameters)

    def needs_excited_state(self):
        return self.inputs.alignment.value == 'xch'

    def run_excited_state_scf(self):
        """Neutral excited state (XCH): core-hole pseudopotential, no net charge, so the extra electron
        fills the lowest empty level. A pw.x job of its own, never derived from the FCH run."""
        scf = self.exposed_inputs(CancelTolerantPwBaseWorkChain, namespace='scf')
        marked = self.ctx.core_hole.inputs.pw.structure
        parameters = scf['pw']['parameters'].get_dict()
        parameters.setdefault('SYSTEM', {})['tot_charge'] = 0.0
        extra = {ABSORBER_KIND: self.inputs.core_hole_pseudo}
        inputs = pw_base_inputs(scf, marked, 'excited_state_scf', parameters=orm.Dict(parameters), extra_pseudos=extra)
        return ToContext(excited=submit_once(self, CancelTolerantPwBaseWorkChain, **inputs))

    def inspect_excited_state_scf(self):
        if not self.ctx.excited.is_finished_ok:
            return self.exit_codes.ERROR_EXCITED_STATE_SCF_FAILED.format(status=self.ctx.excited.exit_status)
        self.out('excited_state_parameters', self.ctx.excited.outputs.output_parameters)

    def run_xspectra(self):
        """xspectra.x for x, y and z as one job (three runs in one directory, one spectrum each)."""
        exposed = AttributeDict(self.exposed_inputs(XspectraPolarisationsCalculation, namespace='xspectra'))
        parameters = exposed.parameters.get_dict()
        namelist = parameters.setdefault('INPUT_XSPECTRA', {})
        namelist['xiabs'] = self.ctx.xiabs
        if self.inputs.xe0_mid_gap.value and 'xe0' not in namelist:
            bands = self.ctx.core_hole.outputs.output_band
            namelist['xe0'] = occupation_cut_energy(bands.get_bands(), bands.get_array('occupations'))
        inputs = AttributeDict(
            {
                'xspectra': {
                    'code': exposed.code,
                    'parameters': orm.Dict(parameters),
                    'parent_folder': self.ctx.core_hole.outputs.remote_folder,
                    'core_wfc_data': self.inputs.core_wavefunction,
                    'polarisations': orm.List(list(POLARISATIONS)),
                    'metadata': exposed.get('metadata', {}),
                },
                'kpoints': exposed.kpoints,
                'metadata': {'call_link_label': 'xspectra'},
            }
        )
        return ToContext(xspectra=submit_once(self, XspectraPolarisationsBaseWorkChain, **inputs))

    def inspect_xspectra(self):
        node = self.ctx.xspectra
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_XSPECTRA_FAILED.format(status=node.exit_status)

    def collect_spectrum(self):
        spectra = self.ctx.xspectra.outputs.spectra
        result = isotropic_site_spectrum(
            spectra['x'],
            spectra['y'],
            spectra['z'],
            self.inputs.ground_state,
            self.ctx.core_hole.outputs.output_parameters,
        )
        self.ctx.raw = result['raw']
        self.out_many(result)
        xspectra = self.ctx.xspectra  # the three runs share one SCF and one xe0
        inputs = {
            'delta_scf': result['delta_scf'],
            'xspectra_parameters': xspectra.inputs.xspectra.parameters,
            'xspectra_output': xspectra.outputs.output_parameters,
        }
        if self.needs_excited_state():
            inputs.update(
                ground_parameters=self.inputs.ground_state,
                core_hole_bands=self.ctx.core_hole.outputs.output_band,
                excited_parameters=self.ctx.excited.outputs.output_parameters,
            )
        self.ctx.alignment = site_alignment(**inputs)
        self.out('alignment', self.ctx.alignment)

    def has_calibration(self):
        return 'calibration' in self.inputs

    def align(self):
        self.out('aligned', align_site_spectrum(self.ctx.raw, self.ctx.alignment, self.inputs.calibration))
