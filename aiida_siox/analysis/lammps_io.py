"""LAMMPS melt-quench input script, data files and thermo trace (pure Python, no AiiDA).

Units are LAMMPS ``metal``: A, ps, eV, bar, K. Type 1 is Si, type 2 is O, always, so one potential
file (``SiO.tersoff``, Munetoh et al. 2007) serves every composition, x = 0 included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiida_siox.analysis.structure_checks import MASSES

SPECIES = ('Si', 'O')
ATM_IN_BAR = 1.01325
#: Columns of the thermo trace written by the script (``thermo.dat``).
THERMO_COLUMNS = ('step', 'time_ps', 'temperature_K', 'pressure_bar', 'density_g_cm3', 'potential_energy_eV', 'volume_A3')


@dataclass(frozen=True)
class MeltQuenchParameters:
    """The melt-quench schedule. The paper: 5000 K, 1 ns hold, 3 ns linear cool, NPT at 1 atm."""

    seed: int
    melt_temperature: float = 5000.0
    final_temperature: float = 1.0  # a Nose-Hoover target cannot be 0 K: end at ~1 K, then minimise
    initial_temperature: float = 300.0
    timestep_ps: float = 0.001
    heat_steps: int = 10000
    hold_steps: int = 1000000
    cool_steps: int = 3000000
    melt_ensemble: str = 'npt'  # 'nvt' keeps the volume while molten (tiny cells blow up under NPT)
    cool_ensemble: str = 'npt'  # 'nvt' keeps it through the cool too; the final box/relax then sets the density
    thermo_every: int = 1000
    restart_every: int = 10000  # a killed job resumes from the last restart.<step> file
    t_damp_ps: float = 0.1
    p_damp_ps: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or int(self.seed) != self.seed or not 0 < self.seed < 900_000_000:
            raise ValueError(f'LAMMPS seed must be an integer in [1, 900000000), got {self.seed!r}')
        for name in ('melt_ensemble', 'cool_ensemble'):
            if getattr(self, name) not in ('npt', 'nvt'):
                raise ValueError(f"{name} must be 'npt' or 'nvt', got {getattr(self, name)!r}")
        for name in ('heat_steps', 'hold_steps', 'cool_steps', 'thermo_every', 'restart_every'):
            if int(getattr(self, name)) < 1:
                raise ValueError(f'{name} must be a positive integer, got {getattr(self, name)!r}')


def write_lammps_data(symbols: list[str], positions: np.ndarray, cell: np.ndarray) -> str:
    """Text of a LAMMPS ``atomic`` data file for an orthogonal cell, types Si=1, O=2."""
    cell = np.asarray(cell, float)
    if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-8:
        raise ValueError('only orthogonal cells are supported for the melt-quench input')
    unknown = set(symbols) - set(SPECIES)
    if unknown:
        raise ValueError(f'only Si and O are supported, found {sorted(unknown)}')
    lengths = np.diag(cell)
    frac = np.asarray(positions, float) / lengths
    wrapped = (frac % 1.0) * lengths
    lines = ['SiOx cell written by aiida-siox', '', f'{len(symbols)} atoms', f'{len(SPECIES)} atom types', '']
    for axis, length in zip('xyz', lengths, strict=True):
        lines.append(f'0.0 {length:.10f} {axis}lo {axis}hi')
    lines += ['', 'Masses', '']
    lines += [f'{i + 1} {MASSES[s]}  # {s}' for i, s in enumerate(SPECIES)]
    lines += ['', 'Atoms # atomic', '']
    for i, (symbol, pos) in enumerate(zip(symbols, wrapped, strict=True)):
        lines.append(f'{i + 1} {SPECIES.index(symbol) + 1} {pos[0]:.10f} {pos[1]:.10f} {pos[2]:.10f}')
    return '\n'.join(lines) + '\n'


def read_lammps_data(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Parse a data file written by LAMMPS ``write_data`` (atomic style, orthogonal or triclinic).

    Returns (symbols, Cartesian positions, cell), atoms sorted by id so the order of the input
    structure is kept.
    """
    lines = text.splitlines()
    bounds = {}
    tilt = np.zeros(3)
    n_atoms = None
    atoms_start = None
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) == 2 and words[1] == 'atoms':
            n_atoms = int(words[0])
        elif len(words) >= 4 and words[2].endswith('lo') and words[3].endswith('hi'):
            bounds[words[2][0]] = (float(words[0]), float(words[1]))
        elif len(words) >= 6 and words[3:6] == ['xy', 'xz', 'yz']:
            tilt = np.array(words[:3], float)
        elif words[:1] == ['Atoms']:
            atoms_start = i + 2
    if n_atoms is None or atoms_start is None or set(bounds) != {'x', 'y', 'z'}:
        raise ValueError('not a LAMMPS data file with an Atoms section and box bounds')
    rows = np.array([lines[atoms_start + k].split()[:5] for k in range(n_atoms)], float)
    rows = rows[np.argsort(rows[:, 0])]
    (xlo, xhi), (ylo, yhi), (zlo, zhi) = bounds['x'], bounds['y'], bounds['z']
    cell = np.array([[xhi - xlo, 0, 0], [tilt[0], yhi - ylo, 0], [tilt[1], tilt[2], zhi - zlo]])
    positions = rows[:, 2:5] - np.array([xlo, ylo, zlo])
    symbols = [SPECIES[int(t) - 1] for t in rows[:, 1]]
    return symbols, positions, cell


def melt_quench_script(
    params: MeltQuenchParameters,
    data_file: str = 'structure.data',
    potential_file: str = 'SiO.tersoff',
    restart_file: str | None = None,
) -> str:
    """LAMMPS input for heat -> hold -> linear cool -> box/relax minimisation, seeded explicitly.

    Every phase runs ``run END upto start BEGIN stop END`` on absolute timesteps, and restart files
    ``restart.<step>`` are written every ``restart_every`` steps. The same script with
    ``restart_file`` set therefore resumes a killed job where its last restart file left it: the
    phases already done run zero steps, the interrupted one continues its temperature ramp from the
    right point, and the thermostat/barostat state comes back from the restart file.
    """
    p = params
    heat_end = p.heat_steps
    hold_end = heat_end + p.hold_steps
    cool_end = hold_end + p.cool_steps

    def fix(ensemble: str, t0: float, t1: float) -> str:
        if ensemble == 'npt':
            return f'fix md all npt temp {t0} {t1} {p.t_damp_ps} iso {ATM_IN_BAR} {ATM_IN_BAR} {p.p_damp_ps}'
        return f'fix md all nvt temp {t0} {t1} {p.t_damp_ps}'

    def phase(end: int, fix_command: str, begin: int) -> str:
        # Skipped when a resumed job is already past it (`run N upto` refuses N < step).
        return f'if "${{step}} < {end}" then "{fix_command}" "run {end} upto start {begin} stop {end}" "unfix md"'

    trace = ' '.join(f'${{{name}}}' for name in ('step', 'time', 'temp', 'press', 'density', 'pe', 'vol'))
    if restart_file is None:
        start = f"""units metal
atom_style atomic
boundary p p p
read_data {data_file}"""
        velocities = f'velocity all create {p.initial_temperature} {p.seed} dist gaussian mom yes rot yes'
    else:
        start = f'read_restart {restart_file}'
        velocities = f'# resumed from {restart_file}: velocities and thermostat state come from the restart file'
    return f"""# aiida-siox melt-quench (Tersoff SiO, Munetoh 2007), seed {p.seed}
{start}
pair_style tersoff
pair_coeff * * {potential_file} Si O
neighbor 2.0 bin
neigh_modify every 1 delay 0 check yes
timestep {p.timestep_ps}

variable step equal step
variable time equal time
variable temp equal temp
variable press equal press
variable density equal density
variable pe equal pe
variable vol equal vol
thermo_style custom step time temp press density pe vol
thermo {p.thermo_every}
fix trace all print {p.thermo_every} "{trace}" file thermo.dat screen no title "# {' '.join(THERMO_COLUMNS)}"
restart {p.restart_every} restart.*

{velocities}

# 1. heat (steps 0-{heat_end})
{phase(heat_end, fix(p.melt_ensemble, p.initial_temperature, p.melt_temperature), 0)}
# 2. hold molten (steps {heat_end}-{hold_end})
{phase(hold_end, fix(p.melt_ensemble, p.melt_temperature, p.melt_temperature), heat_end)}
# 3. linear cool (steps {hold_end}-{cool_end})
{phase(cool_end, fix(p.cool_ensemble, p.melt_temperature, p.final_temperature), hold_end)}
unfix trace
restart 0
# 4. minimise positions and cell at 1 atm
fix relax all box/relax iso {ATM_IN_BAR} vmax 0.001
min_style cg
minimize 1.0e-10 1.0e-8 10000 100000
unfix relax
print "FINAL_DENSITY ${{density}}"
write_data final.data
"""


def total_steps(params: MeltQuenchParameters) -> int:
    """Number of MD steps of the schedule (minimisation not included)."""
    return params.heat_steps + params.hold_steps + params.cool_steps


def latest_restart(filenames: list[str]) -> tuple[str, int] | None:
    """The restart file ``restart.<step>`` with the highest step among ``filenames``, or None."""
    steps = [(int(name.split('.', 1)[1]), name) for name in filenames if name.startswith('restart.') and name.split('.', 1)[1].isdigit()]
    if not steps:
        return None
    step, name = max(steps)
    return name, step


def stitch_thermo(segments: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One trace from the traces of successive (resumed) jobs: each later segment replaces the
    earlier ones from its first step on, since a resumed job repeats the steps after its restart file."""
    if not segments:
        raise ValueError('no thermo trace to stitch')
    result = {name: values.copy() for name, values in segments[0].items()}
    for segment in segments[1:]:
        keep = result['step'] < segment['step'][0]
        result = {name: np.concatenate([result[name][keep], segment[name]]) for name in result}
    return result


def read_thermo(text: str) -> dict[str, np.ndarray]:
    """Parse ``thermo.dat`` into one array per column of :data:`THERMO_COLUMNS`.

    A job killed mid-write can leave a truncated last line: rows without every column are dropped.
    A step printed twice (the last step of one phase is the first of the next) is kept once.
    """
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.startswith('#')]
    rows = [row for row in rows if len(row) == len(THERMO_COLUMNS)]
    data = np.array(rows, float).reshape(-1, len(THERMO_COLUMNS))
    data = data[np.r_[np.diff(data[:, 0]) > 0, True]] if len(data) else data
    return {name: data[:, i] for i, name in enumerate(THERMO_COLUMNS)}
