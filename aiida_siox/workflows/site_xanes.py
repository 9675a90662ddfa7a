"""``SiteXanesWorkChain``: Si K-edge XANES of chosen Si sites of one structure.

One ground-state SCF (the Delta-SCF reference), then one :class:`SiteSpectrumWorkChain` per site,
at most ``max_concurrent_sites`` at a time. A site that fails is recorded (site, exit status,
message) and the others go on; the workchain then finishes with exit status 401 and outputs what
succeeded, so a later stage (or ``siox rerun-failed``) can use the partial result.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, append_, while_
from aiida.plugins import WorkflowFactory

from aiida_siox.workflows.scf_inputs import pw_base_inputs
from aiida_siox.workflows.site_spectrum import SiteSpectrumWorkChain

PwBaseWorkChain = WorkflowFactory('quantumespresso.pw.base')


def validate_sites(value, _):
    if value is not None and (not value.get_list() or any(not isinstance(s, int) or s < 0 for s in value.get_list())):
        return 'sites must be a non-empty list of non-negative atom indices'


class SiteXanesWorkChain(WorkChain):
    """Ground-state SCF + throttled, failure-tolerant fan-out of per-site spectra."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(SiteSpectrumWorkChain, exclude=('site', 'ground_state'))
        spec.input('sites', valid_type=orm.List, required=False, validator=validate_sites, help='Si site indices (default: all Si).')
        spec.input('max_concurrent_sites', valid_type=orm.Int, default=lambda: orm.Int(4), help='Sites of this structure running at once.')
        spec.outline(
            cls.setup,
            cls.run_ground_state,
            cls.inspect_ground_state,
            while_(cls.has_sites_left)(cls.submit_batch, cls.inspect_batch),
            cls.finalise,
        )
        spec.output('ground_state', valid_type=orm.Dict)
        spec.output_namespace('raw_spectra', valid_type=orm.XyData, dynamic=True, help='site_<i>: powder spectrum, xspectra axis.')
        spec.output_namespace('aligned_spectra', valid_type=orm.XyData, dynamic=True, help='site_<i>: spectrum on the ML grid.')
        spec.output_namespace('delta_scf', valid_type=orm.Float, dynamic=True, help='site_<i>: Delta-SCF shift (eV).')
        spec.output('failed_sites', valid_type=orm.Dict, required=False, help='site index -> exit status and message.')
        spec.exit_code(300, 'ERROR_INVALID_SITES', message='Sites {sites} are not Si atoms of the structure.')
        spec.exit_code(400, 'ERROR_GROUND_STATE_FAILED', message='The ground-state SCF failed with exit status {status}.')
        spec.exit_code(401, 'WARNING_SOME_SITES_FAILED', message='{failed} of {total} sites failed; the others are in the outputs.')
        spec.exit_code(402, 'ERROR_ALL_SITES_FAILED', message='All {total} sites failed.')

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

    def run_ground_state(self):
        scf = self.exposed_inputs(SiteSpectrumWorkChain)['scf']
        inputs = pw_base_inputs(scf, self.inputs.structure, 'ground_state_scf')
        return ToContext(ground=self.submit(PwBaseWorkChain, **inputs))

    def inspect_ground_state(self):
        if not self.ctx.ground.is_finished_ok:
            return self.exit_codes.ERROR_GROUND_STATE_FAILED.format(status=self.ctx.ground.exit_status)
        self.out('ground_state', self.ctx.ground.outputs.output_parameters)

    def has_sites_left(self):
        return bool(self.ctx.pending)

    def submit_batch(self):
        batch = self.ctx.pending[: self.inputs.max_concurrent_sites.value]
        self.ctx.pending = self.ctx.pending[len(batch) :]
        inputs = AttributeDict(self.exposed_inputs(SiteSpectrumWorkChain))
        inputs.ground_state = self.ctx.ground.outputs.output_parameters
        for site in batch:
            inputs.site = orm.Int(site)
            inputs.metadata = {'call_link_label': f'site_{site}'}
            node = self.submit(SiteSpectrumWorkChain, **inputs)
            node.base.extras.set('siox_site', site)
            self.to_context(batch=append_(node))
        self.report(f'submitted sites {batch}; {len(self.ctx.pending)} waiting')

    def inspect_batch(self):
        for node in self.ctx.pop('batch', []):
            site = node.base.extras.get('siox_site')
            key = f'site_{site}'
            if node.is_finished_ok:
                self.ctx.succeeded.append(site)
                self.out(f'raw_spectra.{key}', node.outputs.raw)
                self.out(f'delta_scf.{key}', node.outputs.delta_scf)
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
