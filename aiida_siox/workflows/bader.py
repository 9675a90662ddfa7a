"""``BaderWorkChain``: PAW ground state -> pp.x valence and all-electron cubes -> Bader charges."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain
from aiida.plugins import CalculationFactory

from aiida_siox.calculations.bader import BaderCalculation
from aiida_siox.protocols.inputs import SioxProtocolMixin, mpi_options, pw_scf_inputs, require_codes, serial_options
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.scf_inputs import pw_base_inputs

PpCalculation = CalculationFactory('quantumespresso.pp')

#: pp.x plot_num: 0 = valence density (integrated), 21 = PAW all-electron density (reference grid).
DENSITIES = {'valence': 0, 'reference': 21}


def validate_cubes_stay_remote(inputs, _):
    """Cubes left on the computer can only be read by a Bader job on that same computer."""
    if 'keep_cubes' not in inputs or inputs['keep_cubes'].value:
        return None
    pp_computer = inputs.get('pp_code').computer if inputs.get('pp_code') is not None else None
    bader_code = inputs.get('bader', {}).get('code')
    bader_computer = bader_code.computer if bader_code is not None else None
    if pp_computer is not None and bader_computer is not None and pp_computer.uuid != bader_computer.uuid:
        return (
            f'keep_cubes is False, so the Bader job must run where pp.x leaves the cubes ({pp_computer.label}), '
            f'but its code runs on {bader_computer.label}: set keep_cubes to True or use a Python code on {pp_computer.label}'
        )


class BaderWorkChain(SioxProtocolMixin, WorkChain):
    """Per-atom Bader charges of one structure, in the atom order of the input structure."""

    _protocol_file = 'bader.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(CancelTolerantPwBaseWorkChain, namespace='scf', exclude=('pw.structure',))
        spec.input('structure', valid_type=orm.StructureData)
        spec.input('pp_code', valid_type=orm.AbstractCode, help='pp.x')
        spec.input(
            'keep_cubes',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(True),
            help="Store the pp.x cubes in the repository (True), or leave them on the computer as the pp jobs' "
            'RemoteData (False: MBs per cell fewer in the repository and in archives; the Bader job must run there).',
        )
        spec.expose_inputs(BaderCalculation, namespace='bader', include=('code', 'metadata', 'tolerance'))
        spec.inputs.validator = validate_cubes_stay_remote
        spec.outline(cls.run_scf, cls.run_pp, cls.run_bader, cls.results)
        spec.output('charges', valid_type=orm.ArrayData)
        spec.output('summary', valid_type=orm.Dict)
        spec.exit_code(400, 'ERROR_SCF_FAILED', message='The PAW ground-state SCF failed with exit status {status}.')
        spec.exit_code(410, 'ERROR_PP_FAILED', message='pp.x failed for the {density} density with exit status {status}.')
        spec.exit_code(420, 'ERROR_BADER_FAILED', message='The Bader job failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: dict[str, orm.AbstractCode],
        structure: orm.StructureData | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        bader_options: dict | None = None,
    ):
        """Builder for the Bader charges of a structure from a protocol (``fast``, ``moderate``, ``paper``).

        :param codes: ``pw``, ``pp`` and ``python`` (which runs the Bader partition) codes.
        :param options: job options of pw.x and pp.x (default: 2 local MPI ranks, 1 h).
        :param bader_options: job options of the Bader job (default: 1 local process, the MPI codes' wall time).
        """
        require_codes(codes, {'pw', 'pp', 'python'}, cls.__name__)
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        if structure is not None:
            builder.structure = structure
        builder.scf = pw_scf_inputs(codes['pw'], inputs['pseudo_family'], inputs['scf'], mpi_options(options))
        builder.pp_code = codes['pp']
        builder.keep_cubes = orm.Bool(inputs['keep_cubes'])
        builder.bader = {
            'code': codes['python'],
            'tolerance': orm.Float(inputs['tolerance']),
            'metadata': {'options': serial_options(bader_options, options)},
        }
        return builder

    def run_scf(self):
        scf = self.exposed_inputs(CancelTolerantPwBaseWorkChain, namespace='scf')
        inputs = pw_base_inputs(scf, self.inputs.structure, 'paw_scf', gamma_tricks=True)  # pp.x reads its density only
        return ToContext(scf=submit_once(self, CancelTolerantPwBaseWorkChain, **inputs))

    def run_pp(self):
        if not self.ctx.scf.is_finished_ok:
            return self.exit_codes.ERROR_SCF_FAILED.format(status=self.ctx.scf.exit_status)
        options = dict(self.inputs.scf.pw.metadata.get('options', {}))
        options = {
            key: options[key] for key in ('resources', 'max_wallclock_seconds', 'withmpi', 'queue_name', 'account') if key in options
        }
        # kept: retrieved into the repository; else left in the remote folder, and not parsed either
        options['keep_data_files'] = self.inputs.keep_cubes.value
        options['parse_data_files'] = False
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
        folder = 'retrieved' if self.inputs.keep_cubes.value else 'remote_folder'
        inputs.valence_density = self.ctx.pp_valence.outputs[folder]
        inputs.reference_density = self.ctx.pp_reference.outputs[folder]
        inputs.z_valence = orm.Dict({kind: pseudo.z_valence for kind, pseudo in pseudos.items()})
        inputs.metadata = {**inputs.get('metadata', {}), 'call_link_label': 'bader'}
        return ToContext(bader=submit_once(self, BaderCalculation, **inputs))

    def results(self):
        node = self.ctx.bader
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_BADER_FAILED.format(message=node.exit_message or f'exit status {node.exit_status}')
        self.out('charges', node.outputs.charges)
        self.out('summary', node.outputs.summary)
