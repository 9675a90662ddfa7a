"""Rerun only the failed sites of SiteXanesWorkChains (the script form of `siox rerun-failed`).

    verdi run workchains/rerun_failed_sites.py -- <pk of a dataset, structure or XANES workchain>
    verdi run workchains/rerun_failed_sites.py -- 1234 --mixing-beta 0.2 --walltime 7200 --wait

Every newest SiteXanesWorkChain at or under the given workchain that has missing sites gets a new
run computing those sites only; finished sites and the ground-state SCF are handed over as the
same nodes. Overrides given here apply to the rerun sites only.
"""

import argparse

from aiida import orm

from aiida_siox.workflows.rerun_failed import rerun_overrides, runs_to_rerun, submit_reruns
from aiida_siox.workflows.waiting import wait_until_terminated

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('identifier', help='pk or UUID of a SiOxDatasetWorkChain, SiOxStructureWorkChain or SiteXanesWorkChain')
parser.add_argument('--mixing-beta', type=float, default=None)
parser.add_argument('--walltime', type=int, default=None, help='max_wallclock_seconds of the rerun jobs')
parser.add_argument('--wait', action='store_true')
args = parser.parse_args()

runs, skipped = runs_to_rerun(orm.load_node(args.identifier))
for reason in skipped:
    print(f'Skipped: {reason}')
new_nodes = submit_reruns(runs, rerun_overrides(args.mixing_beta, args.walltime))
if not runs:
    print('Nothing to rerun.')
if args.wait and new_nodes:
    failed = wait_until_terminated(new_nodes)
    print(f'all terminated; still with missing sites: {failed or "none"}')
    raise SystemExit(1 if failed else 0)
