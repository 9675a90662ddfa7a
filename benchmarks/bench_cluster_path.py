"""Per-site XANES wall time through SSH + SLURM against the local path, for the same inputs.

    setup_profiles/cluster.sh start
    siox setup -p PROFILE cluster --config aiida_siox/setup/configs/computers/cluster.yaml
    .venv/bin/python benchmarks/bench_cluster_path.py --profile PROFILE [--repeats 1,1,1 2,1,1] [--rounds 2]

For each alpha-quartz supercell (`fast` protocol, site 0, fixed calibration) one SiteXanesWorkChain
runs in this process on the `localhost` codes (core.local + core.direct) and one on the `cluster`
codes (core.ssh to 127.0.0.1 + core.slurm on this machine), alternating, `--rounds` times each.
The site's wall time is its SiteSpectrumWorkChain's ctime -> mtime (2 jobs: core-hole pw.x and
one xspectra.x job for x, y, z). Printed: both times, their ratio, and the extra seconds per job of the cluster
path (SSH connections, sbatch, squeue polls at the computer's poll interval, job start by slurmd).
Same process, interleaved rounds: machine noise affects both paths alike.

On a RabbitMQ profile, set `verdi -p PROFILE config set runner.poll.interval 1` first: measured
here, this in-process runner missed the brokers' "child finished" broadcasts and fell back on its
poll interval (60 s by default), which adds up to a minute per child process to both paths.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics


def site_seconds(node) -> tuple[float, int]:
    """Wall time of the site (s) and the number of jobs it ran."""
    site = next(n for n in node.called if n.process_label == 'SiteSpectrumWorkChain')
    jobs = [n for n in site.called_descendants if n.process_label == 'CoreHoleXspectraCalculation']
    return (site.mtime - site.ctime).total_seconds(), len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', nargs='+', default=['1,1,1', '2,1,1'], help='Supercells of alpha-quartz.')
    parser.add_argument('--rounds', type=int, default=2, help='Runs per path and cell (interleaved).')
    parser.add_argument('--cluster', default='cluster', help='Label of the SLURM computer.')
    parser.add_argument('--profile', default=None)
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_cluster_path.json'))
    args = parser.parse_args()

    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_siox.calculations.structure_edit import alpha_quartz
    from aiida_siox.setup.cluster import JOB_OPTIONS_PROPERTY
    from aiida_siox.setup.environment import load_pipeline_codes
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    load_profile(args.profile)
    paths = {}
    for computer in ('localhost', args.cluster):
        codes = load_pipeline_codes(computer)
        options = orm.load_computer(computer).get_property(JOB_OPTIONS_PROPERTY, {}).get('mpi')
        calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
        paths[computer] = dict(
            SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', options=options, calibration=calibration)
        )
    quartz = alpha_quartz().get_ase()
    results = []
    for repeat in args.repeats:
        reps = [int(v) for v in repeat.split(',')]
        structure = orm.StructureData(ase=quartz.repeat(reps))
        times: dict[str, list[float]] = {computer: [] for computer in paths}
        n_jobs = 0
        for round_ in range(args.rounds):
            for computer, inputs in paths.items():
                _, node = run_get_node(SiteXanesWorkChain, structure=structure, sites=orm.List([0]), **inputs)
                if not node.is_finished_ok:
                    raise SystemExit(f'SiteXanesWorkChain<{node.pk}> on {computer} failed: {node.exit_status} {node.exit_message}')
                seconds, n_jobs = site_seconds(node)
                times[computer].append(seconds)
                print(f'  {len(structure.sites)} atoms, round {round_ + 1}, {computer}: site {seconds:.1f} s ({n_jobs} jobs)', flush=True)
        local, cluster = (statistics.median(times[c]) for c in paths)
        row = {
            'n_atoms': len(structure.sites),
            'local_s': times['localhost'],
            'cluster_s': times[args.cluster],
            'ratio_median': cluster / local,
            'extra_s_per_job': (cluster - local) / n_jobs,
        }
        results.append(row)
        print(
            f'{row["n_atoms"]} atoms: local {local:.1f} s, SSH + SLURM {cluster:.1f} s (medians), '
            f'ratio {row["ratio_median"]:.2f}, {row["extra_s_per_job"]:+.1f} s per job',
            flush=True,
        )
    args.output.write_text(json.dumps(results, indent=1))
    print(f'results in {args.output}')


if __name__ == '__main__':
    main()
