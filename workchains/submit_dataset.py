"""Submit the whole SiOx pipeline (SiOxDatasetWorkChain).

    verdi run workchains/submit_dataset.py -- --protocol fast --compositions 0,1,2 --seeds 1
    verdi run workchains/submit_dataset.py -- --protocol paper --compositions 0,0.25,0.5,0.75,1,1.25,1.5,1.75,2 --seeds 1,2,3,4,5

Needs `siox setup` (codes and pseudopotential families) and a running daemon.
"""

import argparse

from aiida import orm
from aiida.engine import submit

from aiida_siox.workflows.dataset import SiOxDatasetWorkChain

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--protocol', default='fast', choices=['fast', 'moderate', 'paper'])
parser.add_argument('--compositions', default='0,1,2')
parser.add_argument('--seeds', default='1')
parser.add_argument('--computer', default='localhost', help='Computer the codes are set up on.')
parser.add_argument('--no-training', action='store_true')
args = parser.parse_args()

codes = {
    key: orm.load_code(f'{label}@{args.computer}')
    for key, label in (('lmp', 'lmp'), ('pw', 'pw'), ('xspectra', 'xspectra'), ('pp', 'pp'), ('python', 'siox-python'))
}
builder = SiOxDatasetWorkChain.get_builder_from_protocol(
    codes,
    [float(x) for x in args.compositions.split(',')],
    [int(s) for s in args.seeds.split(',')],
    protocol=args.protocol,
    train=not args.no_training,
)
node = submit(builder)
print(f'Submitted SiOxDatasetWorkChain<{node.pk}>; follow it with `verdi process status {node.pk}`')
