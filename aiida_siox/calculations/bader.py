"""``BaderCalculation``: Bader partition of pp.x cube files as a tracked job (Python + baderkit)."""

from __future__ import annotations

from pathlib import Path

from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.engine import CalcJob

from aiida_siox.analysis import bader_partition

SCRIPT = Path(bader_partition.__file__)


class BaderCalculation(CalcJob):
    """Run ``bader_partition.py`` on the valence and all-electron cubes of one PAW SCF."""

    OUTPUT_JSON = 'bader.json'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The structure, for atom order and Z_valence.')
        spec.input(
            'valence_density',
            valid_type=(orm.FolderData, orm.RemoteData),
            help='pp.x plot_num=0 (aiida.fileout): its retrieved folder, or its remote folder on this computer.',
        )
        spec.input(
            'reference_density',
            valid_type=(orm.FolderData, orm.RemoteData),
            help='pp.x plot_num=21 (aiida.fileout): its retrieved folder, or its remote folder on this computer.',
        )
        spec.input('z_valence', valid_type=orm.Dict, help='Valence electrons per element of the pseudopotentials used.')
        spec.input('tolerance', valid_type=orm.Float, default=lambda: orm.Float(0.05), help='Allowed |sum of populations - electrons| (e).')
        spec.inputs['metadata']['options']['parser_name'].default = 'siox.bader'
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['output_filename'].default = 'bader.out'
        spec.output('charges', valid_type=orm.ArrayData, help='population, charge (Z_val - population), volume per atom.')
        spec.output('summary', valid_type=orm.Dict)
        spec.exit_code(300, 'ERROR_NO_OUTPUT', message='The Bader job wrote no bader.json (see bader.out).')
        spec.exit_code(310, 'ERROR_ATOM_ORDER', message='The cube atoms do not match the input structure.')
        spec.exit_code(320, 'ERROR_CHARGE_NOT_CONSERVED', message='Populations sum to {total:.4f} e, expected {expected:.4f} e.')

    def prepare_for_submission(self, folder):
        folder.get_subfolder('.').create_file_from_filelike(SCRIPT.open('rb'), SCRIPT.name, 'wb')
        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = [SCRIPT.name, 'valence.cube', 'reference.cube', self.OUTPUT_JSON]
        codeinfo.stdout_name = self.inputs.metadata.options.output_filename
        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = []
        calcinfo.remote_copy_list = []
        for name in ('valence', 'reference'):
            source = self.inputs[f'{name}_density']
            if isinstance(source, orm.RemoteData):
                # the cube stayed on the computer (repository and archives stay small): copied there
                if source.computer.uuid != self.node.computer.uuid:
                    raise ValueError(
                        f'the {name} cube is on computer {source.computer.label}, the Bader job runs on '
                        f'{self.node.computer.label}: keep the cubes (`keep_cubes: true`) to move them'
                    )
                calcinfo.remote_copy_list.append((source.computer.uuid, f'{source.get_remote_path()}/aiida.fileout', f'{name}.cube'))
            else:
                calcinfo.local_copy_list.append((source.uuid, 'aiida.fileout', f'{name}.cube'))
        calcinfo.retrieve_list = [self.OUTPUT_JSON, codeinfo.stdout_name]
        return calcinfo
