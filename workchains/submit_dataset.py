"""Submit the whole SiOx pipeline (SiOxDatasetWorkChain).

    verdi run workchains/submit_dataset.py -- --protocol fast --compositions 0,1,2 --seeds 1
    verdi run workchains/submit_dataset.py -- --protocol paper --compositions 0,0.25,0.5,0.75,1,1.25,1.5,1.75,2 --seeds 1,2,3,4,5
    verdi run workchains/submit_dataset.py -- --protocol paper --size 2 --sites 4 --compositions 0,2 --seeds 1,2

--size (n of the n^3 SiO2 start, 4 = the paper), --sites (Si sites per structure, 0 = all),
--max-structures / --max-sites (throttles: at most their product of site workchains in flight)
override the protocol. Follow the run with `siox status <PK>`.

--computer: `localhost` (from `siox setup`) or a cluster registered with `siox setup cluster --config FILE`, whose
partitions, account and cores per node are used for every job (the training job goes to its GPU partition).

Needs `siox setup` (codes and pseudopotential families) and a running daemon.
"""

import argparse

from aiida import orm
from aiida.engine import submit

from aiida_siox.protocols import PROTOCOLS
from aiida_siox.setup.cluster import JOB_OPTIONS_PROPERTY
from aiida_siox.setup.environment import load_pipeline_codes
from aiida_siox.workflows.dataset import SiOxDatasetWorkChain

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--protocol', default='fast', choices=PROTOCOLS)
parser.add_argument('--compositions', default='0,1,2')
parser.add_argument('--seeds', default='1')
parser.add_argument('--computer', default='localhost', help='Computer the codes are set up on.')
parser.add_argument('--no-training', action='store_true')
parser.add_argument('--size', type=int, default=None, help="Supercell n (default: the protocol's).")
parser.add_argument('--sites', type=int, default=None, help="Si sites per structure, 0 = all (default: the protocol's).")
parser.add_argument('--max-structures', type=int, default=None, help='Structures in flight at once.')
parser.add_argument('--max-sites', type=int, default=None, help='Sites of one structure in flight at once.')
args = parser.parse_args()

codes = load_pipeline_codes(args.computer)
# Overrides of the protocols: the dataset's own keys, its children's under their namespaces.
structure = {}
if args.size is not None:
    structure['supercell'] = args.size
if args.sites is not None:
    structure['sites_per_structure'] = args.sites
if args.max_sites is not None:
    structure['xanes'] = {'max_concurrent_sites': args.max_sites}
overrides = {'structure': structure}
if args.max_structures is not None:
    overrides['max_concurrent_structures'] = args.max_structures
# A cluster registered by `siox setup cluster` carries its job options (partitions, account, cores per node).
job_options = orm.load_computer(args.computer).get_property(JOB_OPTIONS_PROPERTY, {})
builder = SiOxDatasetWorkChain.get_builder_from_protocol(
    codes,
    [float(x) for x in args.compositions.split(',')],
    [int(s) for s in args.seeds.split(',')],
    protocol=args.protocol,
    overrides=overrides,
    train=not args.no_training,
    options=job_options.get('mpi'),
    serial_options=job_options.get('serial'),
    training_options=job_options.get('training'),
)
node = submit(builder)
print(f'Submitted SiOxDatasetWorkChain<{node.pk}>; follow it with `siox status {node.pk}` or `verdi process status {node.pk}`')
