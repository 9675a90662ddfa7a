"""Site jobs per minute the daemon keeps going through SSH + SLURM, and the queue limit held.

    verdi -p PROFILE daemon start 4
    .venv/bin/python benchmarks/bench_cluster_throughput.py --profile PROFILE --structures 4 --sites 3 --max-sites 2

Submits STRUCTURES SiteXanesWorkChains (alpha-quartz, `fast` protocol, fixed calibration, SITES
sites each, at most MAX_SITES at once) on the cluster codes to the running daemon, then samples
`squeue` once a second until all have terminated. Each site runs its jobs one after another, so
at most STRUCTURES x MAX_SITES jobs may be queued at once: the script reports the largest number
seen, the mean number in the queue, the jobs finished per minute, and the share of the time the
queue held at least one job per free core (how well the engine keeps SLURM fed).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import time


def queued_jobs() -> tuple[int, int]:
    """(pending, running) jobs in the SLURM queue."""
    states = subprocess.run(['squeue', '-h', '-o', '%t'], capture_output=True, text=True, check=True).stdout.split()
    return states.count('PD'), states.count('R')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--structures', type=int, default=4)
    parser.add_argument('--sites', type=int, default=3, help='Sites per structure (alpha-quartz has 3 Si).')
    parser.add_argument('--max-sites', type=int, default=2, help='Sites of one structure in flight at once.')
    parser.add_argument('--cluster', default='cluster')
    parser.add_argument('--profile', default=None)
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_cluster_throughput.json'))
    args = parser.parse_args()

    from aiida import load_profile, orm
    from aiida.engine import submit
    from aiida.engine.daemon.client import get_daemon_client

    from aiida_siox.calculations.structure_edit import alpha_quartz
    from aiida_siox.setup.cluster import JOB_OPTIONS_PROPERTY
    from aiida_siox.setup.environment import load_pipeline_codes
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    profile = load_profile(args.profile)
    client = get_daemon_client(profile.name)
    if not client.is_daemon_running:
        raise SystemExit(f'the daemon of {profile.name} is not running: `verdi -p {profile.name} daemon start 4`')
    workers = client.get_numprocesses().get('numprocesses', '?')
    codes = load_pipeline_codes(args.cluster)
    options = orm.load_computer(args.cluster).get_property(JOB_OPTIONS_PROPERTY)['mpi']
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
    inputs = dict(SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', options=options, calibration=calibration))
    inputs['max_concurrent_sites'] = orm.Int(args.max_sites)
    limit = args.structures * args.max_sites
    cores = int(subprocess.run(['sinfo', '-h', '-o', '%c'], capture_output=True, text=True, check=True).stdout.split()[0])
    per_job = options['resources']['num_mpiprocs_per_machine']

    start = time.monotonic()
    nodes = [
        submit(SiteXanesWorkChain, structure=alpha_quartz(), sites=orm.List(list(range(args.sites))), **inputs)
        for _ in range(args.structures)
    ]
    print(f'submitted {len(nodes)} SiteXanesWorkChains to {workers} daemon worker(s); queue limit {limit} jobs', flush=True)
    samples = []
    while not all(orm.load_node(node.pk).is_terminated for node in nodes):
        pending, running = queued_jobs()
        samples.append((time.monotonic() - start, pending, running))
        time.sleep(1.0)
    elapsed = time.monotonic() - start
    jobs = [n for node in nodes for n in orm.load_node(node.pk).called_descendants if isinstance(n, orm.CalcJobNode)]
    failed = [node.pk for node in nodes if not orm.load_node(node.pk).is_finished_ok]
    in_queue = [p + r for _, p, r in samples]
    fed = sum(1 for _, p, r in samples if r * per_job >= cores or p > 0) / max(len(samples), 1)
    result = {
        'daemon_workers': workers,
        'structures': args.structures,
        'sites_per_structure': args.sites,
        'max_concurrent_sites': args.max_sites,
        'queue_limit': limit,
        'max_in_queue': max(in_queue, default=0),
        'mean_in_queue': sum(in_queue) / max(len(in_queue), 1),
        'jobs': len(jobs),
        'elapsed_s': elapsed,
        'jobs_per_minute': 60 * len(jobs) / elapsed,
        'share_of_time_cores_busy_or_queue_waiting': fed,
        'failed_workchains': failed,
    }
    print(json.dumps(result, indent=1))
    args.output.write_text(json.dumps({**result, 'samples': samples}, indent=1))
    if result['max_in_queue'] > limit:
        raise SystemExit(f'queue limit broken: {result["max_in_queue"]} jobs seen, limit {limit}')


if __name__ == '__main__':
    main()
