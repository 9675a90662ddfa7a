"""``SiteXanesWorkChain``: Si K-edge XANES of chosen Si sites of one structure.

One ground-state SCF (the Delta-SCF reference), then one :class:`SiteSpectrumWorkChain` per site,
at most ``max_concurrent_sites`` at a time. A site that fails is recorded (site, exit status,
message) and the others go on; the workchain then finishes with exit status 401 (partial success,
workflows/partial_success.py) and outputs what succeeded, so a later stage (or ``siox rerun-failed``) can use the partial result.

Re-running failed sites reuses explicitly rather than through caching: ``ground_state`` and the
``previous`` namespaces take an earlier run's outputs, whose sites are passed through as the very
same nodes (nothing is recomputed, the provenance of each spectrum stays that of its first run),
and ``site_overrides`` changes the inputs of the sites that do run (e.g. a lower mixing beta).
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_, while_

from aiida_siox.calculations.spectra import align_site_spectrum
from aiida_siox.graph import SITE
from aiida_siox.protocols import concurrency
from aiida_siox.protocols.inputs import SioxProtocolMixin, kpoints_mesh, mpi_options, pw_scf_inputs, require_codes
from aiida_siox.workflows.alignment import fch_alignment_of
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.partial_success import PARTIAL_SUCCESS
from aiida_siox.workflows.scf_inputs import pw_base_inputs
from aiida_siox.workflows.site_spectrum import SiteSpectrumWorkChain
from aiida_siox.workflows.sliding_window import ended_children, fill_window, has_work_left, wait_for_oldest


def validate_sites(value, _):
    if value is not None and (not value.get_list() or any(not isinstance(s, int) or s < 0 for s in value.get_list())):
        return 'sites must be a non-empty list of non-negative atom indices'


OVERRIDE_KEYS = {'scf_parameters', 'options'}


def validate_site_overrides(value, _):
    if value is None:
        return None
    for site, override in value.get_dict().items():
        if not site.isdigit():
            return f'site_overrides keys must be site indices such as "3", got {site!r}'
        if not isinstance(override, dict) or not set(override) <= OVERRIDE_KEYS:
            return f'site_overrides[{site!r}] may only hold {sorted(OVERRIDE_KEYS)}, got {override!r}'


def aligned_with(spectrum: orm.XyData, alignment: orm.Dict, calibration: orm.Dict) -> bool:
    """Whether ``spectrum`` was aligned from exactly this alignment and calibration (by ``align_site_spectrum``, or
    by ``site_powder_spectrum`` with the alignment it made)."""
    creator = spectrum.creator
    if creator is None or 'calibration' not in creator.inputs or creator.inputs.calibration.uuid != calibration.uuid:
        return False
    if 'alignment' in creator.inputs:
        return creator.inputs.alignment.uuid == alignment.uuid
    made = creator.base.links.get_outgoing(link_label_filter='alignment').all()
    return bool(made) and made[0].node.uuid == alignment.uuid


def merge_nested(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged in, nested dictionaries key by key (pw.x namelists)."""
    merged = dict(base)
    for key, value in update.items():
        merged[key] = merge_nested(merged.get(key, {}), value) if isinstance(value, dict) else value
    return merged


class SiteXanesWorkChain(SioxProtocolMixin, WorkChain):
    """Ground-state SCF + throttled, failure-tolerant fan-out of per-site spectra."""

    _protocol_file = 'site_xanes.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(SiteSpectrumWorkChain, exclude=('site', 'ground_state'))
        spec.input('sites', valid_type=orm.List, required=False, validator=validate_sites, help='Si site indices (default: all Si).')
        spec.input('max_concurrent_sites', valid_type=orm.Int, default=lambda: orm.Int(4), help='Sites of this structure running at once.')
        spec.input(
            'ground_state',
            valid_type=orm.Dict,
            required=False,
            help='output_parameters of an earlier ground-state SCF of this very structure: reused, not recomputed.',
        )
        spec.input(
            'site_overrides',
            valid_type=orm.Dict,
            required=False,
            validator=validate_site_overrides,
            help='{"<site>": {"scf_parameters": {...}, "options": {...}}}: merged into that site\'s core-hole SCF '
            'parameters and the options of its job (SCF and xspectra runs) only.',
        )
        spec.input_namespace('previous', required=False, help='Outputs of an earlier run; their sites are not recomputed.')
        spec.input_namespace('previous.raw_spectra', valid_type=orm.XyData, dynamic=True, required=False)
        spec.input_namespace('previous.aligned_spectra', valid_type=orm.XyData, dynamic=True, required=False)
        spec.input_namespace('previous.delta_scf', valid_type=orm.Float, dynamic=True, required=False)
        spec.input_namespace('previous.alignments', valid_type=orm.Dict, dynamic=True, required=False)
        spec.outline(
            cls.setup,
            if_(cls.needs_ground_state)(cls.run_ground_state, cls.inspect_ground_state),
            cls.reuse_previous_sites,
            while_(cls.has_sites_left)(cls.fill_window, cls.inspect_finished_sites),
            cls.finalise,
        )
        spec.output('ground_state', valid_type=orm.Dict)
        spec.output_namespace('raw_spectra', valid_type=orm.XyData, dynamic=True, help='site_<i>: powder spectrum, xspectra axis.')
        spec.output_namespace('aligned_spectra', valid_type=orm.XyData, dynamic=True, help='site_<i>: spectrum on the ML grid.')
        spec.output_namespace('delta_scf', valid_type=orm.Float, dynamic=True, help='site_<i>: Delta-SCF shift (eV).')
        spec.output_namespace('alignments', valid_type=orm.Dict, dynamic=True, help='site_<i>: form and terms of its alignment.')
        spec.output('failed_sites', valid_type=orm.Dict, required=False, help='site index -> exit status and message.')
        spec.exit_code(300, 'ERROR_INVALID_SITES', message='Sites {sites} are not Si atoms of the structure.')
        spec.exit_code(301, 'ERROR_GROUND_STATE_MISMATCH', message='The ground_state input was computed for another structure ({uuid}).')
        spec.exit_code(
            302,
            'ERROR_CALIBRATION_MISMATCH',
            message='The calibration <{pk}> was made for the {made} alignment form, not {form}; a calibration without a form '
            "predates xspectra's energy zero in the alignment: `siox realign` makes a new one.",
        )
        spec.exit_code(400, 'ERROR_GROUND_STATE_FAILED', message='The ground-state SCF failed with exit status {status}.')
        spec.exit_code(
            PARTIAL_SUCCESS, 'WARNING_SOME_SITES_FAILED', message='{failed} of {total} sites failed; the others are in the outputs.'
        )
        spec.exit_code(402, 'ERROR_ALL_SITES_FAILED', message='All {total} sites failed.')

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: dict[str, orm.AbstractCode],
        structure: orm.StructureData | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        calibration: orm.Dict | None = None,
    ):
        """Builder for the XANES of a structure's Si sites from a protocol (``fast``, ``moderate``, ``paper``).

        :param codes: ``pw`` and ``xspectra`` codes, and ``python`` (siox-python: sets the mid-gap xe0 inside
            each site's job) unless the protocol's ``xe0_mid_gap`` is off.
        :param structure: the cell (leave out when a parent workchain supplies it).
        :param overrides: nested dict merged into the protocol, e.g. ``{'scf': {'ecutwfc': 30.0}}``.
        :param options: job options of pw.x and xspectra.x (default: 2 local MPI ranks, 1 h).
        :param calibration: the alpha-quartz calibration; without it only raw spectra come out.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        require_codes(codes, {'pw', 'xspectra', 'python'} if inputs['xe0_mid_gap'] else {'pw', 'xspectra'}, cls.__name__)
        options = mpi_options(options)
        settings = inputs['xspectra']
        parameters = {
            'INPUT_XSPECTRA': {
                'calculation': 'xanes_dipole',
                'edge': 'K',
                'xniter': settings['xniter'],
                'xerror': settings['xerror'],
                'xcheck_conv': settings['xcheck_conv'],
            },
            'PLOT': {
                'xnepoint': settings['xnepoint'],
                'xgamma': settings['xgamma'],
                'xemin': settings['xemin'],
                'xemax': settings['xemax'],
                'terminator': True,
                'cut_occ_states': True,
            },
            'PSEUDOS': {'r_paw': [settings['r_paw']]},
            'CUT_OCC': {'cut_desmooth': settings['cut_desmooth']},
        }
        builder = cls.get_builder()
        if structure is not None:
            builder.structure = structure
        if calibration is not None:
            builder.calibration = calibration
        # `auto`: every job slot of the computer (a dataset splits them between its structures)
        slots = concurrency.job_slots(codes['pw'].computer, options)
        builder.max_concurrent_sites = orm.Int(concurrency.resolve_window(inputs['max_concurrent_sites'], slots))
        builder.alignment = orm.Str(inputs['alignment'])
        builder.xe0_mid_gap = orm.Bool(inputs['xe0_mid_gap'])
        if inputs['xe0_mid_gap']:
            builder.energy_zero_code = codes['python']
        builder.core_hole_pseudo = orm.load_group(inputs['core_hole_family']).get_pseudo('Si')
        builder.core_wavefunction = orm.load_group(inputs['core_wavefunction_group']).nodes[0]
        builder.scf = pw_scf_inputs(codes['pw'], inputs['pseudo_family'], inputs['scf'], options)
        builder.xspectra = {
            'code': codes['xspectra'],
            'parameters': orm.Dict(parameters),
            'kpoints': kpoints_mesh(settings['kpoints_mesh']),
        }
        return builder

    def setup(self):
        symbols = self.inputs.structure.get_ase().get_chemical_symbols()
        silicon = [i for i, s in enumerate(symbols) if s == 'Si']
        sites = self.inputs.sites.get_list() if 'sites' in self.inputs else silicon
        invalid = sorted(set(sites) - set(silicon))
        if invalid:
            return self.exit_codes.ERROR_INVALID_SITES.format(sites=invalid)
        self.ctx.pending = list(sites)
        self.ctx.total = len(sites)
        self.ctx.failed = {}
        self.ctx.succeeded = []
        if 'calibration' in self.inputs and self.inputs.calibration.get('alignment') != self.inputs.alignment.value:
            calibration = self.inputs.calibration
            return self.exit_codes.ERROR_CALIBRATION_MISMATCH.format(
                pk=calibration.pk, made=calibration.get('alignment', 'none'), form=self.inputs.alignment.value
            )
        if 'ground_state' in self.inputs:
            creator = self.inputs.ground_state.creator
            source = creator.inputs.structure.uuid if creator is not None and 'structure' in creator.inputs else None
            if source != self.inputs.structure.uuid:
                return self.exit_codes.ERROR_GROUND_STATE_MISMATCH.format(uuid=source)
            self.ctx.ground_parameters = self.inputs.ground_state
            self.out('ground_state', self.inputs.ground_state)

    def needs_ground_state(self):
        return 'ground_state' not in self.inputs

    def run_ground_state(self):
        scf = self.exposed_inputs(SiteSpectrumWorkChain)['scf']
        inputs = pw_base_inputs(scf, self.inputs.structure, 'ground_state_scf', gamma_tricks=True)  # only its energy is used
        return ToContext(ground=submit_once(self, CancelTolerantPwBaseWorkChain, **inputs))

    def inspect_ground_state(self):
        if not self.ctx.ground.is_finished_ok:
            return self.exit_codes.ERROR_GROUND_STATE_FAILED.format(status=self.ctx.ground.exit_status)
        self.ctx.ground_parameters = self.ctx.ground.outputs.output_parameters
        self.out('ground_state', self.ctx.ground_parameters)

    def reuse_previous_sites(self):
        """Pass the sites finished in an earlier run through as they are; re-align only on a new calibration.

        A site of a graph made before xspectra's energy zero was part of the alignment gets its
        ``fch`` alignment from its own xspectra run (nothing recomputed); a site aligned with another
        form than the one asked for is computed again.
        """
        previous = self.inputs.get('previous', {})
        raw, delta, alignments, aligned = (previous.get(key, {}) for key in ('raw_spectra', 'delta_scf', 'alignments', 'aligned_spectra'))
        form = self.inputs.alignment.value
        reused = []
        for site in self.ctx.pending:
            key = f'site_{site}'
            if key not in raw or key not in delta:
                continue
            alignment = alignments.get(key)
            if alignment is None and form == 'fch':
                alignment = fch_alignment_of(raw[key], delta[key])
            if alignment is None or alignment['form'] != form:
                continue
            self.out(f'raw_spectra.{key}', raw[key])
            self.out(f'delta_scf.{key}', delta[key])
            self.out(f'alignments.{key}', alignment)
            if 'calibration' in self.inputs:
                spectrum = aligned.get(key)
                if spectrum is None or not aligned_with(spectrum, alignment, self.inputs.calibration):
                    spectrum = align_site_spectrum(raw[key], alignment, self.inputs.calibration)
                self.out(f'aligned_spectra.{key}', spectrum)
            reused.append(site)
        self.ctx.succeeded.extend(reused)
        self.ctx.pending = [site for site in self.ctx.pending if site not in reused]
        if reused:
            self.report(f'reused sites {reused} from an earlier run; {len(self.ctx.pending)} to compute')

    def has_sites_left(self):
        return has_work_left(self.ctx)

    def fill_window(self):
        """Launch sites until ``max_concurrent_sites`` are in flight, then wait (sliding window, see sliding_window.py)."""
        launched = fill_window(self.ctx, self.inputs.max_concurrent_sites.value, self.launch_site)
        if launched:
            self.report(f'submitted sites {launched}; {len(self.ctx.in_flight)} in flight, {len(self.ctx.pending)} waiting')
        return wait_for_oldest(self.ctx.in_flight)

    def launch_site(self, site: int):
        overrides = self.inputs.site_overrides.get_dict() if 'site_overrides' in self.inputs else {}
        node = submit_once(self, SiteSpectrumWorkChain, **self.site_inputs(site, overrides.get(str(site), {})))
        node.base.extras.set(SITE, site)
        return node

    def site_inputs(self, site: int, override: dict) -> AttributeDict:
        """Inputs of one site's SiteSpectrumWorkChain, with that site's overrides merged in."""
        inputs = AttributeDict(self.exposed_inputs(SiteSpectrumWorkChain))
        inputs.ground_state = self.ctx.ground_parameters
        inputs.site = orm.Int(site)
        inputs.metadata = {'call_link_label': f'site_{site}'}
        if override.get('scf_parameters'):
            pw = dict(inputs.scf['pw'])
            pw['parameters'] = orm.Dict(merge_nested(pw['parameters'].get_dict(), override['scf_parameters']))
            inputs.scf = {**inputs.scf, 'pw': pw}
        if override.get('options'):  # the site's one job runs with the SCF's options
            pw = dict(inputs.scf['pw'])
            metadata = dict(pw.get('metadata', {}))
            metadata['options'] = {**metadata.get('options', {}), **override['options']}
            pw['metadata'] = metadata
            inputs.scf = {**inputs.scf, 'pw': pw}
        return inputs

    def inspect_finished_sites(self):
        """Collect every site that has ended; the ones still running stay in the window."""
        ended, self.ctx.in_flight = ended_children(self.ctx, self.ctx.in_flight)
        for node in ended:
            site = node.base.extras.get(SITE)
            key = f'site_{site}'
            if node.is_finished_ok:
                self.ctx.succeeded.append(site)
                self.out(f'raw_spectra.{key}', node.outputs.raw)
                self.out(f'delta_scf.{key}', node.outputs.delta_scf)
                self.out(f'alignments.{key}', node.outputs.alignment)
                if 'aligned' in node.outputs:
                    self.out(f'aligned_spectra.{key}', node.outputs.aligned)
            else:
                self.ctx.failed[str(site)] = {'exit_status': node.exit_status, 'message': node.exit_message, 'process': node.uuid}
                self.report(f'site {site} failed (<{node.pk}> exit status {node.exit_status}); continuing with the others')

    def finalise(self):
        if self.ctx.failed:
            self.out('failed_sites', orm.Dict(self.ctx.failed).store())
            if not self.ctx.succeeded:
                return self.exit_codes.ERROR_ALL_SITES_FAILED.format(total=self.ctx.total)
            return self.exit_codes.WARNING_SOME_SITES_FAILED.format(failed=len(self.ctx.failed), total=self.ctx.total)
