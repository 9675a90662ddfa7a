"""``SiteSpectrumWorkChain``: the Si K-edge spectrum of one site (one job: core-hole SCF + xspectra for x, y, z).

The transition energies are aligned per site (docs/method.md): ``fch`` (default) uses the full
core-hole SCF and xspectra's own energy zero; ``xch`` adds a neutral excited-state SCF (a separate
pw.x job) as the paper's cross-check. xspectra's zero (``xe0``) is set midway between the highest occupied
and the first empty level of the core-hole SCF, inside the site's job (analysis/scf_levels.py): xspectra's
default, the highest level with occupation > 0.001, is the core-exciton level of c-Si under Gaussian
smearing, and cutting the occupied states through a level leaves a narrow spike at the onset.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ToContext, WorkChain, if_
from aiida.plugins import DataFactory

from aiida_siox.analysis.spectrum import ALIGNMENT_FORMS
from aiida_siox.calculations.spectra import site_powder_spectrum
from aiida_siox.calculations.structure_edit import ABSORBER_KIND, absorber_species_index, mark_absorber
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain
from aiida_siox.workflows.core_hole_xspectra import CoreHoleXspectraBaseWorkChain
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.scf_inputs import pw_base_inputs

UpfData = DataFactory('pseudo.upf')


def validate_alignment(value, _):
    if value is not None and value.value not in ALIGNMENT_FORMS:
        return f'alignment must be one of {list(ALIGNMENT_FORMS)}, got {value.value!r}'


def validate_inputs(inputs, _):
    """The mid-gap xe0 is set inside the site's job by a Python: one must be given."""
    namelist = inputs.get('xspectra', {}).get('parameters', orm.Dict()).get_dict().get('INPUT_XSPECTRA', {})
    mid_gap = inputs.get('xe0_mid_gap', orm.Bool(True)).value
    if mid_gap and 'xe0' not in namelist and 'energy_zero_code' not in inputs:
        return 'xe0_mid_gap needs energy_zero_code (the siox-python code): it sets xe0 inside the site job'


class SiteSpectrumWorkChain(WorkChain):
    """One job for a Si site (core-hole SCF, xe0, xspectra for x, y, z), then powder average and alignment.

    The SCF and the three polarisations are one job (``CoreHoleXspectraCalculation``: pw.x, then
    three xspectra.x runs in sequence in one directory), not two or four: each job costs the engine
    a restart workchain, an upload, a scheduler poll, a retrieval and a parse (quartz site: 9.4 s as
    two jobs, see the closing notes of issue 16 for one). Run side by side instead, the three
    polarisations oversubscribe a small machine (21 s vs 10 s measured); on a cluster the site-level
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
        spec.input(
            'energy_zero_code',
            valid_type=orm.AbstractCode,
            required=False,
            help='The siox-python code: sets the mid-gap xe0 inside the site job (needed with xe0_mid_gap).',
        )
        spec.expose_inputs(
            CancelTolerantPwBaseWorkChain,
            namespace='scf',
            exclude=('pw.structure',),
            namespace_options={'help': 'The SCF inputs; the site job (SCF and xspectra runs) runs with scf.pw.metadata.options.'},
        )
        spec.input_namespace('xspectra', help='The xspectra.x runs of the site job.')
        spec.input('xspectra.code', valid_type=orm.AbstractCode, help='xspectra.x, on the computer of the pw.x code.')
        spec.input('xspectra.parameters', valid_type=orm.Dict, help='xspectra.x namelists (the job sets xiabs, xepsilon, files).')
        spec.input('xspectra.kpoints', valid_type=orm.KpointsData, help='k-point mesh of the xspectra runs.')
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.run_site_job,
            cls.inspect_site_job,
            if_(cls.needs_excited_state)(cls.run_excited_state_scf, cls.inspect_excited_state_scf),
            cls.collect_spectrum,
        )
        spec.output('raw', valid_type=orm.XyData, help='Powder spectrum on the xspectra energy axis.')
        spec.output('delta_scf', valid_type=orm.Float, help='E_total(core hole) - E_total(ground), eV.')
        spec.output('alignment', valid_type=orm.Dict, help='form, E0, Delta-SCF (and the XCH terms) and the shift E - E_xspectra before C.')
        spec.output('excited_state_parameters', valid_type=orm.Dict, required=False, help='output_parameters of the XCH SCF.')
        spec.output('aligned', valid_type=orm.XyData, required=False, help='Spectrum on the ML grid, absolute energy.')
        spec.output('core_hole_parameters', valid_type=orm.Dict)
        spec.exit_code(410, 'ERROR_CORE_HOLE_SCF_FAILED', message='The core-hole SCF failed with exit status {status}.')
        spec.exit_code(411, 'ERROR_EXCITED_STATE_SCF_FAILED', message='The excited-state (XCH) SCF failed with exit status {status}.')
        spec.exit_code(420, 'ERROR_XSPECTRA_FAILED', message='The xspectra.x runs (x, y, z) failed with exit status {status}.')

    def run_site_job(self):
        """The core-hole SCF, xe0 and xspectra.x for x, y and z: one job (three runs in one directory)."""
        scf = self.exposed_inputs(CancelTolerantPwBaseWorkChain, namespace='scf')
        marked = mark_absorber(self.inputs.structure, self.inputs.site)
        parameters = scf['pw']['parameters'].get_dict()
        parameters.setdefault('SYSTEM', {})['tot_charge'] = 1.0  # full core hole: the 1s electron is removed
        extra = {ABSORBER_KIND: self.inputs.core_hole_pseudo}
        inputs = pw_base_inputs(scf, marked, 'core_hole_xspectra', parameters=orm.Dict(parameters), extra_pseudos=extra)
        xspectra = self.inputs.xspectra.parameters.get_dict()
        namelist = xspectra.setdefault('INPUT_XSPECTRA', {})
        namelist['xiabs'] = absorber_species_index(marked.get_kind_names())
        pw = {
            **inputs['pw'],
            'xspectra': {
                'code': self.inputs.xspectra.code,
                'parameters': orm.Dict(xspectra),
                'kpoints': self.inputs.xspectra.kpoints,
                'core_wavefunction': self.inputs.core_wavefunction,
            },
        }
        if self.inputs.xe0_mid_gap.value and 'xe0' not in namelist:
            pw['energy_zero_code'] = self.inputs.energy_zero_code
        return ToContext(site_job=submit_once(self, CoreHoleXspectraBaseWorkChain, **{**inputs, 'pw': pw}))

    def inspect_site_job(self):
        """A failed SCF ends the site with 410, a failed xspectra part (SCF done) with 420."""
        job = self.ctx.site_job
        if not job.is_finished_ok:
            calcs = sorted((n for n in job.called if isinstance(n, orm.CalcJobNode)), key=lambda n: n.ctime)
            xspectra_failed = bool(calcs) and 600 <= (calcs[-1].exit_status or 0) < 700  # the job's xspectra part
            status = self.exit_codes.ERROR_XSPECTRA_FAILED if xspectra_failed else self.exit_codes.ERROR_CORE_HOLE_SCF_FAILED
            return status.format(status=job.exit_status)
        self.out('core_hole_parameters', job.outputs.output_parameters)

    def needs_excited_state(self):
        return self.inputs.alignment.value == 'xch'

    def run_excited_state_scf(self):
        """Neutral excited state (XCH): core-hole pseudopotential, no net charge, so the extra electron
        fills the lowest empty level. A pw.x job of its own, never derived from the FCH run."""
        scf = self.exposed_inputs(CancelTolerantPwBaseWorkChain, namespace='scf')
        marked = self.ctx.site_job.inputs.pw.structure
        parameters = scf['pw']['parameters'].get_dict()
        parameters.setdefault('SYSTEM', {})['tot_charge'] = 0.0
        extra = {ABSORBER_KIND: self.inputs.core_hole_pseudo}
        inputs = pw_base_inputs(scf, marked, 'excited_state_scf', parameters=orm.Dict(parameters), extra_pseudos=extra)
        return ToContext(excited=submit_once(self, CancelTolerantPwBaseWorkChain, **inputs))

    def inspect_excited_state_scf(self):
        if not self.ctx.excited.is_finished_ok:
            return self.exit_codes.ERROR_EXCITED_STATE_SCF_FAILED.format(status=self.ctx.excited.exit_status)
        self.out('excited_state_parameters', self.ctx.excited.outputs.output_parameters)

    def collect_spectrum(self):
        """Powder spectrum, Delta-SCF, alignment and (with a calibration) the aligned spectrum in one calcfunction
        (the three runs share one SCF and one xe0, which is in the xspectra output when the job set it)."""
        job = self.ctx.site_job
        outputs = job.base.links.get_outgoing(link_type=LinkType.RETURN).nested()  # one query, not one per output
        spectra = outputs['spectra']
        inputs = {
            'spectrum_x': spectra['x'],
            'spectrum_y': spectra['y'],
            'spectrum_z': spectra['z'],
            'ground_parameters': self.inputs.ground_state,
            'core_hole_parameters': outputs['output_parameters'],
            'xspectra_parameters': job.inputs.pw.xspectra.parameters,
            'xspectra_output': outputs['xspectra_parameters'],
        }
        if self.needs_excited_state():
            inputs.update(core_hole_bands=outputs['output_band'], excited_parameters=self.ctx.excited.outputs.output_parameters)
        if 'calibration' in self.inputs:
            inputs['calibration'] = self.inputs.calibration
        self.out_many(site_powder_spectrum(**inputs))
