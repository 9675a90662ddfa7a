"""Submit melt-quenches (MeltQuenchWorkChain, with validation) for compositions x seeds.

    verdi run workchains/submit_structures.py -- --protocol paper --supercell 4 --seeds 1,2,3,4,5
    verdi run workchains/submit_structures.py -- --protocol fast --supercell 3 --compositions 0,2 --seeds 1 --wait

Defaults: the paper's nine compositions, seed 1, the `fast` protocol, 2x2x2 cells. Every workchain
goes into a group (default `siox/structures/<protocol>-n<supercell>`); print the table of results
with `siox structures <group>`. With --wait the script follows the runs and exits non-zero if any
failed.
"""

import argparse

from aiida import orm
from aiida.engine import submit

from aiida_siox.calculations.structure_builder import build_amorphous_seed, start_density_inputs
from aiida_siox.protocols import PROTOCOLS
from aiida_siox.structures import PAPER_FORMULAS
from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain
from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain
from aiida_siox.workflows.waiting import wait_until_terminated

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--compositions', default=','.join(str(x) for x in PAPER_FORMULAS), help='Comma-separated x values.')
parser.add_argument('--seeds', default='1', help='Comma-separated positive integers.')
parser.add_argument('--supercell', type=int, default=2, help='n of the n^3 cubic SiO2 supercell (4 = the paper).')
parser.add_argument('--protocol', default='fast', choices=PROTOCOLS)
parser.add_argument('--code', default='lmp@localhost')
parser.add_argument('--mpiprocs', type=int, default=2, help='MPI ranks per LAMMPS job.')
parser.add_argument('--walltime', type=int, default=3600, help='Wall time of each LAMMPS job (s); longer runs resume.')
parser.add_argument('--group', default=None, help='Group label for the submitted workchains.')
parser.add_argument('--wait', action='store_true')
args = parser.parse_args()

code = orm.load_code(args.code)
group, _ = orm.Group.collection.get_or_create(args.group or f'siox/structures/{args.protocol}-n{args.supercell}')
options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': args.mpiprocs}, 'max_wallclock_seconds': args.walltime}
# the protocol's start volume (`reference`: the composition's reference density, held through an NVT melt)
start_density = start_density_inputs(SiOxStructureWorkChain.get_protocol_inputs(args.protocol)['start_density'])
nodes = []
for x in (float(v) for v in args.compositions.split(',')):
    for seed in (int(v) for v in args.seeds.split(',')):
        structure = build_amorphous_seed(orm.Float(x), orm.Int(seed), orm.Int(args.supercell), **start_density)
        builder = MeltQuenchWorkChain.get_builder_from_protocol(code, structure, seed, protocol=args.protocol, options=options)
        builder.metadata.label = f'x={x:g} seed={seed}'
        node = submit(builder)
        group.add_nodes(node)
        nodes.append(node)
        print(f'Submitted MeltQuenchWorkChain<{node.pk}> for {structure.get_formula()} (x={x:g}, seed={seed})')
print(f'{len(nodes)} melt-quenches in group {group.label!r}: `siox structures {group.label}` prints the results')
if args.wait:
    failed = wait_until_terminated(nodes)
    print(f'all terminated; failed: {failed or "none"}')
    raise SystemExit(1 if failed else 0)
