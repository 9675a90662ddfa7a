"""``BaderWorkChain``: PAW ground state -> pp.x valence and all-electron cubes -> Bader charges."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain
from aiida.plugins import CalculationFactory

from aiida_siox.calculations.bader import BaderCalculation
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.scf_inputs import pw_base_inputs

PpCalculation = CalculationFactory('quantumespresso.pp')

#: pp.x plot_num: 0 = valence density (integrated), 21 = PAW all-electron density (reference grid).
DENSITIES = {'valence': 0, 'reference': 21}


class BaderWorkChain(WorkChain):
    """Per-atom Bader charges of one structure, in the atom order of the input structure."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(CancelTolerantPwBaseWorkChain, namespace='scf', exclude=('pw.structure',))
        spec.input('structure', valid_type=orm.StructureData)
        spec.input('pp_code', valid_type=orm.AbstractCode, help='pp.x')
        spec.expose_inputs(BaderCalculation, namespace='bader', include=('code', 'metadata', 'tolerance'))
        spec.outline(cls.run_scf, cls.run_pp, cls.run_bader, cls.results)
        spec.output('charges', valid_type=orm.ArrayData)
        spec.output('summary', valid_type=orm.Dict)
        spec.exit_code(400, 'ERROR_SCF_FAILED', message='The PAW ground-state SCF failed with exit status {status}.')
        spec.exit_code(410, 'ERROR_PP_FAILED', message='pp.x failed for the {density} density with exit status {status}.')
        spec.exit_code(420, 'ERROR_BADER_FAILED', message='The Bader job failed: {message}')

    def run_scf(self):
        scf = self.exposed_inputs(CancelTolerantPwBaseWorkChain, namespace='scf')
        inputs = pw_base_inputs(scf, self.inputs.structure, 'paw_scf')
        return ToContext(scf=submit_once(self, CancelTolerantPwBaseWorkChain, **inputs))

    def run_pp(self):
        if not self.ctx.scf.is_finished_ok:
            return self.exit_codes.ERROR_SCF_FAILED.format(status=self.ctx.scf.exit_status)
        options = dict(self.inputs.scf.pw.metadata.get('options', {}))
        options = {
            key: options[key] for key in ('resources', 'max_wallclock_seconds', 'withmpi', 'queue_name', 'account') if key in options
        }
        options['keep_data_files'] = True
        futures = {}
        for name, plot_num in DENSITIES.items():
            inputs = {
                'code': self.inputs.pp_code,
                'parent_folder': self.ctx.scf.outputs.remote_folder,
                'parameters': orm.Dict({'INPUTPP': {'plot_num': plot_num}, 'PLOT': {'iflag': 3}}),
                'metadata': {'options': options, 'call_link_label': f'pp_{name}'},
            }
            futures[f'pp_{name}'] = submit_once(self, PpCalculation, **inputs)
        return ToContext(**futures)

    def run_bader(self):
        for name in DENSITIES:
            node = self.ctx[f'pp_{name}']
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_PP_FAILED.format(density=name, status=node.exit_status)
        pseudos = self.ctx.scf.inputs.pw.pseudos
        inputs = AttributeDict(self.exposed_inputs(BaderCalculation, namespace='bader'))
        inputs.structure = self.inputs.structure
        inputs.valence_density = self.ctx.pp_valence.outputs.retrieved
        inputs.reference_density = self.ctx.pp_reference.outputs.retrieved
        inputs.z_valence = orm.Dict({kind: pseudo.z_valence for kind, pseudo in pseudos.items()})
        inputs.metadata = {**inputs.get('metadata', {}), 'call_link_label': 'bader'}
        return ToContext(bader=submit_once(self, BaderCalculation, **inputs))

    def results(self):
        node = self.ctx.bader
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_BADER_FAILED.format(message=node.exit_message or f'exit status {node.exit_status}')
        self.out('charges', node.outputs.charges)
        self.out('summary', node.outputs.summary)
