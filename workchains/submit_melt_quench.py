"""Submit one melt-quench (MeltQuenchWorkChain) of a random SiOx cell.

    verdi run workchains/submit_melt_quench.py -- --x 1.0 --seed 1 --supercell 2 --protocol fast [--wait]

With --wait it follows the process until it terminates and exits non-zero if it failed.
"""

import argparse
import time

from aiida import orm
from aiida.engine import submit
from aiida.manage import get_manager

from aiida_siox.calculations.structure_builder import build_amorphous_seed
from aiida_siox.workflows.dataset import DEFAULT_TERSOFF, LOCAL_OPTIONS, SiOxDatasetWorkChain
from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--x', type=float, default=1.0)
parser.add_argument('--seed', type=int, default=1)
parser.add_argument('--supercell', type=int, default=2)
parser.add_argument('--protocol', default='fast', choices=['fast', 'moderate', 'paper'])
parser.add_argument('--code', default='lmp@localhost')
parser.add_argument('--wait', action='store_true')
args = parser.parse_args()

md = SiOxDatasetWorkChain.get_protocol_inputs(args.protocol)['md']
structure = build_amorphous_seed(orm.Float(args.x), orm.Int(args.seed), orm.Int(args.supercell))
node = submit(
    MeltQuenchWorkChain,
    structure=structure,
    parameters=orm.Dict({**md, 'seed': args.seed}),
    potential=orm.SinglefileData(DEFAULT_TERSOFF, filename='SiO.tersoff'),
    lammps={'code': orm.load_code(args.code), 'metadata': {'options': LOCAL_OPTIONS}},
)
print(f'Submitted MeltQuenchWorkChain<{node.pk}>')
if args.wait:
    while True:
        get_manager().get_profile_storage().get_session().commit()  # see new states written by the daemon
        if node.is_terminated:
            break
        time.sleep(2)
    print(f'MeltQuenchWorkChain<{node.pk}> terminated: exit status {node.exit_status}')
    if node.is_finished_ok:
        print(f'density {node.outputs.summary["density_g_cm3"]:.3f} g/cm3')
    raise SystemExit(0 if node.is_finished_ok else 1)
