"""Per-site XANES wall time through the engine against the same pw.x + xspectra.x inputs run by hand.

    .venv/bin/python benchmarks/bench_site_xanes.py [--profile siox] [--poll-interval 1.0] [--runner daemon]

Without a usable profile it makes one as `siox setup` does (embedded profile, localhost computer,
codes and pseudopotential families), so it runs on a clean clone after README's set-up.

Cells: the 9-atom alpha-quartz cell and the `fast` protocol's own amorphous cell (x = 1, seed 1,
its random start melt-quenched with the fast MD schedule), the `fast` protocol's settings, the first
Si site, on the profile's localhost codes and pseudopotential families (run `siox setup` first).

For each cell: one SiteXanesWorkChain with a fixed calibration runs the ground-state SCF and one
site (one job: core-hole SCF, the xe0 step, xspectra.x for x, y, z), submitted to the profile's daemon as `siox demo`
and users' `submit` do (one worker; started for the run when it is not running, and stopped after); the
site's wall time is its SiteSpectrumWorkChain's ctime -> mtime. ``--runner local`` runs it in this
process instead (`verdi run`'s `run`): that runner has no broker, so a workchain learns that its child
ended only by polling, every `runner.poll.interval` (1 s on a `verdi presto` profile), up to 1 s per
hand-over that the daemon, told by a broadcast, does not wait.

Then the site's job is repeated by hand on copies of the exact files the engine wrote (aiida.in, pseudo/,
the core wavefunction, scf_levels.py, aiida_x/y/z.in): pw.x with the computer's `mpirun` command, the xe0 step
with the same Python, the three xspectra.x runs with that `mpirun` command, in a temporary directory, one after another
as the job runs them, with the same MPI ranks. The
ratio engine / by hand is the orchestration overhead. Both runs happen in the same run, back to back,
so machine noise affects both alike; each cell is measured ``--repeats`` times (engine, by hand, engine, ...)
and its ratio is the median of the paired ratios: on a shared 2-core machine the programs' own times
moved by up to 15 % between runs a minute apart (amorphous cell, one pair: 1.08 to 1.28). It also
prints the programs' own wall times on each side (a program slowed by the engine's CPU use beside
it shows there) and the engine's share of a core while the site ran (the daemon's processes, or this
one): each scheduler poll costs the engine CPU (database writes of the job's state), so
``--poll-interval`` sets the trade between a job's end being seen late and the programs being slowed.
Last line: `site xanes engine/bare: quartz9 A.AA, amorphous B.BB (N atoms)`.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile
import time

from aiida_siox.workflows.site_xanes import SiteXanesWorkChain


def qe_wall_seconds(stdout: str) -> float:
    """A QE program's own wall time from its last timing line (``PWSCF : 1m 2.34s CPU 1m 3.01s WALL``, or
    xspectra's ``xanes : 7.27s CPU 9.51s WALL (1 calls)``)."""
    from aiida_quantumespresso.parsers.parse_raw.base import convert_qe_time_to_sec

    line = [line for line in stdout.splitlines() if 's WALL' in line][-1]
    return convert_qe_time_to_sec(line.split('CPU')[1].split('WALL')[0])


def run_by_hand(job, mpiprocs: int) -> tuple[float, float]:
    """Wall time (s) of the site job's steps (pw.x, the xe0 step, three xspectra.x runs) by hand from the files the
    engine wrote, and the sum of the QE programs' own wall times (their timing lines)."""
    import sys

    # the job's own launcher (its computer's mpirun command: binding, idle policy), so both sides run MPI alike
    mpirun = [part.format(tot_num_mpiprocs=mpiprocs) for part in job.computer.get_mpirun_command()]
    env = {**os.environ, 'OMPI_ALLOW_RUN_AS_ROOT': '1', 'OMPI_ALLOW_RUN_AS_ROOT_CONFIRM': '1'}  # as the job script exports them
    names = job.inputs.xspectra.polarisations.get_list()
    with tempfile.TemporaryDirectory() as workdir:
        path = pathlib.Path(workdir)
        job.base.repository.copy_tree(path)  # aiida.in, scf_levels.py, aiida_x/y/z.in as uploaded (before xe0 is set)
        remote = pathlib.Path(job.outputs.remote_folder.get_remote_path())
        shutil.copytree(remote / 'pseudo', path / 'pseudo')
        shutil.copy(remote / 'core_wavefunction.dat', path / 'core_wavefunction.dat')
        start, outputs = time.perf_counter(), ['pw.out']
        with open(path / 'pw.out', 'w') as out:
            subprocess.run([*mpirun, 'pw.x', '-in', 'aiida.in'], cwd=path, stdout=out, env=env, check=True)
        inputs = [f'aiida_{name}.in' for name in names]
        step = [sys.executable, 'scf_levels.py', 'out/aiida.save/data-file-schema.xml', 'xe0.json', *inputs]
        subprocess.run(step, cwd=path, check=True)
        for name in names:
            with open(path / f'aiida_{name}.in') as stdin, open(path / f'xspectra_{name}.out', 'w') as out:
                subprocess.run([*mpirun, 'xspectra.x'], cwd=path, stdin=stdin, stdout=out, env=env, check=True)
            outputs.append(f'xspectra_{name}.out')
        elapsed = time.perf_counter() - start
        return elapsed, sum(qe_wall_seconds((path / name).read_text()) for name in outputs)


def amorphous_cell(codes: dict, protocol: str = 'fast', x: float = 1.0, seed: int = 1):
    """The protocol's own amorphous SiOx cell: its random start, melt-quenched with its MD schedule."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_siox.calculations.structure_builder import build_amorphous_seed
    from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    supercell = SiOxStructureWorkChain.get_protocol_inputs(protocol)['supercell']
    start = build_amorphous_seed(orm.Float(x), orm.Int(seed), orm.Int(supercell))
    builder = MeltQuenchWorkChain.get_builder_from_protocol(codes['lmp'], start, seed, protocol=protocol)
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f'MeltQuenchWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
    return results['structure']


def daemon_processes(profile: str) -> list:
    """The daemon's circus process and everything under it (workers, the ZeroMQ broker), as psutil processes."""
    import psutil
    from aiida.engine.daemon.client import get_daemon_client

    daemon = psutil.Process(get_daemon_client(profile).get_daemon_pid())
    return [daemon, *daemon.children(recursive=True)]


def cpu_seconds(processes: list) -> float:
    """User + system CPU seconds of ``processes`` so far (one that has gone counts 0)."""
    import psutil

    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def run_site_workchain(inputs: dict, runner: str) -> tuple:
    """The SiteXanesWorkChain to its end, in the daemon or in this process, and the engine's CPU seconds meanwhile."""
    from aiida import get_profile
    from aiida.engine import run_get_node, submit

    from aiida_siox.workflows.waiting import wait_until_terminated

    if runner == 'local':
        start = time.process_time()
        _, node = run_get_node(SiteXanesWorkChain, **inputs)
        return node, time.process_time() - start  # this process is the engine: its CPU is taken from the programs
    processes = daemon_processes(get_profile().name)
    start = cpu_seconds(processes)
    node = submit(SiteXanesWorkChain, **inputs)
    # the site's time is its own node's ctime -> mtime, not when this loop sees it end: a slow loop costs nothing,
    # a fast one takes CPU from the job's ranks (each look is a database query in this process)
    wait_until_terminated([node], interval=2.0)
    return node, cpu_seconds(processes) - start


def measure_site(structure, inputs: dict, mpiprocs: int, runner: str) -> dict:
    """One Si site through SiteXanesWorkChain, then the same pw.x and xspectra.x runs by hand; wall times and ratio."""
    from aiida import orm

    symbols = structure.get_ase().get_chemical_symbols()
    site_index = symbols.index('Si')
    node, engine_cpu = run_site_workchain({'structure': structure, 'sites': orm.List([site_index]), **inputs}, runner)
    if not node.is_finished_ok:
        raise SystemExit(f'SiteXanesWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
    site = next(n for n in node.called if n.process_label == 'SiteSpectrumWorkChain')
    engine = (site.mtime - site.ctime).total_seconds()
    job = next(n for n in site.called_descendants if n.process_label == 'CoreHoleXspectraCalculation')
    # the programs' own wall times on each side: a program slowed by the engine beside it (CPU shared with
    # the worker) shows here; the rest of the difference is the engine's fixed cost between the programs
    polarisations = job.outputs.xspectra_parameters['polarisations'].values()
    programs_engine = job.outputs.output_parameters['wall_time_seconds'] + sum(p['wall_time_seconds'] for p in polarisations)
    by_hand, programs_by_hand = run_by_hand(job, mpiprocs)
    return {
        'n_atoms': len(symbols),
        'pk': node.pk,
        'site_engine_s': engine,
        'site_by_hand_s': by_hand,
        'programs_engine_s': programs_engine,
        'programs_by_hand_s': programs_by_hand,
        'engine_cpu_share': engine_cpu / (node.mtime - node.ctime).total_seconds(),
        'ratio': engine / by_hand,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default=None)
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_site_xanes.json'))
    parser.add_argument(
        '--poll-interval',
        type=float,
        default=None,
        help="Seconds between the engine's scheduler polls for this run (default: the computer's own, from localhost.yaml).",
    )
    parser.add_argument(
        '--runner',
        choices=('daemon', 'local'),
        default='daemon',
        help="'daemon' (default): submitted to the profile's daemon, as users run the pipeline; 'local': run in this process.",
    )
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='Engine and by-hand runs of each cell, in turn (default 3); the ratio is the median of the paired ratios.',
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error('--repeats must be at least 1')

    from aiida import orm

    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, setup_all

    # reuses what exists; otherwise makes the embedded profile, computer, codes and pseudopotential families
    codes = setup_all(DEFAULT_CONFIG_DIR, args.profile, production=False, pseudos=True, echo=print, warm_bader=False)['codes']
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
    inputs = dict(SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', calibration=calibration))
    mpiprocs = inputs['scf']['pw']['metadata']['options']['resources']['num_mpiprocs_per_machine']
    computer = codes['pw'].computer
    configured_interval = computer.get_minimum_job_poll_interval()
    if args.poll_interval is not None:
        computer.set_minimum_job_poll_interval(args.poll_interval)
    started_daemon = args.runner == 'daemon' and start_daemon()
    try:
        results = measure_cells(codes, inputs, mpiprocs, args.runner, args.repeats)
    finally:
        computer.set_minimum_job_poll_interval(configured_interval)
        if started_daemon:
            stop_daemon()
    poll_interval = configured_interval if args.poll_interval is None else args.poll_interval
    args.output.write_text(json.dumps({'runner': args.runner, 'poll_interval_s': poll_interval, **results}, indent=1))
    print(
        f'results in {args.output}; {mpiprocs} MPI ranks per job, jobs one after another on both sides, '
        f'through the {args.runner} runner, polled every {poll_interval:g} s; median of {args.repeats} paired runs per cell'
    )
    quartz, amorphous = results['quartz9'], results['amorphous']
    print(f'site xanes engine/bare: quartz9 {quartz["ratio"]:.2f}, amorphous {amorphous["ratio"]:.2f} ({amorphous["n_atoms"]} atoms)')


def start_daemon() -> bool:
    """Start the profile's daemon (one worker) unless it runs; whether this run started it (and so stops it)."""
    from aiida import get_profile

    from aiida_siox.cli.demo import ensure_daemon

    return ensure_daemon(get_profile().name, print)


def stop_daemon() -> None:
    from aiida import get_profile

    from aiida_siox.setup.environment import verdi

    verdi('-p', get_profile().name, 'daemon', 'stop')


def measure_cells(codes: dict, inputs: dict, mpiprocs: int, runner: str, repeats: int) -> dict:
    """The first Si site of alpha-quartz and of the `fast` protocol's amorphous cell, each through the engine then by
    hand, ``repeats`` times in turn; each cell's ratio is the median of its paired ratios."""
    from aiida_siox.calculations.structure_edit import alpha_quartz

    results = {}
    for name, structure in (('quartz9', alpha_quartz()), ('amorphous', amorphous_cell(codes))):
        print(f'{name}: {len(structure.sites)} atoms ...', flush=True)
        rows = []
        for repeat in range(repeats):
            row = measure_site(structure, inputs, mpiprocs, runner)
            rows.append(row)
            print(
                f'  [{repeat + 1}/{repeats}] site through the engine {row["site_engine_s"]:.1f} s, by hand {row["site_by_hand_s"]:.1f} s '
                f'(ratio {row["ratio"]:.3f}); pw.x + xspectra.x by their own clocks: {row["programs_engine_s"]:.1f} s in the engine, '
                f'{row["programs_by_hand_s"]:.1f} s by hand; the engine used {100 * row["engine_cpu_share"]:.0f} % of a core',
                flush=True,
            )
        results[name] = {'n_atoms': rows[0]['n_atoms'], 'ratio': statistics.median(row['ratio'] for row in rows), 'runs': rows}
    return results


if __name__ == '__main__':
    main()
