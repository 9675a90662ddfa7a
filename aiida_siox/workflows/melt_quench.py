"""``MeltQuenchWorkChain``: LAMMPS Tersoff melt-quench of one starting cell.

aiida-lammps 1.0.2's MD workchain ignores the step count and its restart handlers are broken, so
this runs one raw LAMMPS input (``lammps.raw``) that we write, with the seed explicit in the
script: five seeds give five different, individually reproducible structures and caching can
never merge them.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain
from aiida.plugins import CalculationFactory

from aiida_siox.calculations.melt_quench_io import parse_melt_quench, prepare_melt_quench

LammpsRawCalculation = CalculationFactory('lammps.raw')


class MeltQuenchWorkChain(WorkChain):
    """Heat to the melt temperature, hold, cool linearly to ~1 K, minimise the cell at 1 atm."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='Starting cell (Si and O only).')
        spec.input('parameters', valid_type=orm.Dict, help='Schedule: seed, temperatures, step counts (see MeltQuenchParameters).')
        spec.input('potential', valid_type=orm.SinglefileData, help='Tersoff Si-O potential file (SiO.tersoff).')
        spec.expose_inputs(LammpsRawCalculation, namespace='lammps', include=('code', 'metadata'))
        spec.outline(cls.prepare, cls.run_lammps, cls.inspect_lammps)
        spec.output('structure', valid_type=orm.StructureData, help='Quenched and minimised structure.')
        spec.output('thermo', valid_type=orm.ArrayData, help='T, P, density, energy and volume vs time.')
        spec.output('summary', valid_type=orm.Dict, help='Final density, minimum distance, formula.')
        spec.exit_code(400, 'ERROR_LAMMPS_FAILED', message='The LAMMPS melt-quench job failed with exit status {status}.')

    def prepare(self):
        self.ctx.files = prepare_melt_quench(self.inputs.structure, self.inputs.parameters)

    def run_lammps(self):
        inputs = self.exposed_inputs(LammpsRawCalculation, namespace='lammps')
        inputs['script'] = self.ctx.files['script']
        inputs['files'] = {'structure': self.ctx.files['data'], 'potential': self.inputs.potential}
        inputs['filenames'] = {'structure': 'structure.data', 'potential': 'SiO.tersoff'}
        inputs['settings'] = orm.Dict({'additional_retrieve_list': ['final.data', 'thermo.dat']})
        seed = self.inputs.parameters['seed']
        inputs.setdefault('metadata', {})['call_link_label'] = f'lammps_seed_{seed}'
        return ToContext(lammps=self.submit(LammpsRawCalculation, **inputs))

    def inspect_lammps(self):
        calc = self.ctx.lammps
        if not calc.is_finished_ok:
            return self.exit_codes.ERROR_LAMMPS_FAILED.format(status=calc.exit_status)
        results = parse_melt_quench(calc.outputs.retrieved, self.inputs.structure)
        self.out_many(results)
