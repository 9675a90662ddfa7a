"""Submit users' own Si-O structure files through the whole pipeline (SiOxDatasetWorkChain with `cells`).

    verdi run workchains/submit_structure_files.py -- cell1.extxyz cell2.cif POSCAR
    verdi run workchains/submit_structure_files.py -- --relax --sites 4 --no-training my_cells/*.extxyz
    verdi run workchains/submit_structure_files.py -- --run --protocol fast quartz.extxyz   # in this process

Any file ASE reads (extxyz, CIF, POSCAR, LAMMPS data with --format lammps-data, ...). Every file is
checked before anything is stored: only Si and O, a periodic cell, no atoms closer than 1.0 A
(errors); core-hole images closer than 8 A (warning). Each cell then runs XANES (per Si site),
Bader and RDFs, optionally after a melt-quench from its positions (--relax), and the dataset rows
carry the file's name and SHA-256. Follow a submitted run with `siox status <PK>`.
"""

import argparse
import pathlib

from aiida import orm
from aiida.engine import run_get_node, submit

from aiida_siox.calculations.structure_files import StructureFileError
from aiida_siox.protocols import PROTOCOLS
from aiida_siox.setup.environment import load_pipeline_codes
from aiida_siox.workflows.user_cells import cells_from_files, user_cells_builder

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('files', nargs='+', type=pathlib.Path)
parser.add_argument('--format', default=None, help='ASE format of all files (default: from each name).')
parser.add_argument('--protocol', default='fast', choices=PROTOCOLS)
parser.add_argument('--relax', action='store_true', help="Melt-quench each cell first (the protocol's MD).")
parser.add_argument('--sites', type=int, default=None, help="Si sites per cell, 0 = all (default: the protocol's).")
parser.add_argument('--calibration', default=None, help='pk of an existing alpha-quartz calibration (else computed).')
parser.add_argument('--computer', default='localhost', help='Computer the codes are set up on.')
parser.add_argument('--no-training', action='store_true')
parser.add_argument('--run', action='store_true', help='Run in this process and wait (no daemon needed).')
args = parser.parse_args()

try:
    cells = cells_from_files(args.files, args.format)
except StructureFileError as exception:
    raise SystemExit('Error: ' + str(exception).replace('\n', '\nError: ')) from None
overrides = {'structure': {'sites_per_structure': args.sites}} if args.sites is not None else None
calibration = orm.load_node(args.calibration) if args.calibration else None
builder = user_cells_builder(
    load_pipeline_codes(args.computer), cells, args.protocol, overrides, args.relax, train=not args.no_training, calibration=calibration
)
if args.run:
    results, node = run_get_node(builder)
    print(f'SiOxDatasetWorkChain<{node.pk}> finished with exit status {node.exit_status}; dataset {results.get("dataset")}')
    raise SystemExit(0 if node.exit_status == 0 else 1)
node = submit(builder)
print(f'Submitted SiOxDatasetWorkChain<{node.pk}> for {len(cells)} cell(s); follow it with `siox status {node.pk}`')
