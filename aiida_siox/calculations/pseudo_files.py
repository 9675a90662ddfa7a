"""Calcfunctions that turn ld1.x output files into pseudopotential nodes xspectra/pw.x accept."""

from __future__ import annotations

import io
import re

import numpy as np
from aiida import orm
from aiida.engine import calcfunction
from aiida.plugins import DataFactory

UpfData = DataFactory('pseudo.upf')

#: pw.x 6.7 refuses UPF lines longer than this ('xmlr_opentag: severe error, line too long').
MAX_LINE = 200


def rewrap_long_lines(text: str, per_line: int = 4) -> str:
    """Re-wrap numeric lines longer than :data:`MAX_LINE` (ld1.x PAW output), keeping XML tags intact."""
    out = []
    for line in text.splitlines(keepends=True):
        if len(line) > MAX_LINE and not line.lstrip().startswith('<'):
            tokens = line.split()
            out.extend('  ' + '  '.join(tokens[i : i + per_line]) + '\n' for i in range(0, len(tokens), per_line))
        else:
            out.append(line)
    return ''.join(out)


def core_orbital_table(upf_text: str) -> str:
    """The 1s core orbital as xspectra.x's ``filecore`` (what QE's upf2plotcore.sh writes)."""
    radial = re.search(r'<PP_R[^>]*>(.*?)</PP_R>', upf_text, re.S)
    orbital = re.search(r'<PP_GIPAW_CORE_ORBITAL\.1[^>]*>(.*?)</PP_GIPAW_CORE_ORBITAL\.1>', upf_text, re.S)
    if radial is None or orbital is None:
        raise ValueError('the UPF file has no GIPAW core orbitals: generate it with lgipaw_reconstruction=.true.')
    r = np.array(radial.group(1).split(), float)
    phi = np.array(orbital.group(1).split(), float)
    if r.shape != phi.shape:
        raise ValueError(f'radial mesh ({r.size}) and core orbital ({phi.size}) differ in length')
    rows = '\n'.join(f'{a:.12e} {b:.12e}' for a, b in zip(r, phi, strict=True))
    return f'# number of core states 1 =  1 0;\n{rows}\n'


@calcfunction
def upf_from_ld1_output(upf_file: orm.SinglefileData) -> UpfData:
    """UpfData from an ld1.x output file, with long numeric lines re-wrapped for pw.x 6.7."""
    text = rewrap_long_lines(upf_file.get_content())
    return UpfData(io.BytesIO(text.encode()), filename=upf_file.filename)


@calcfunction
def extract_core_wavefunction(pseudo: UpfData) -> orm.SinglefileData:
    """Core 1s wavefunction file for xspectra.x; named ``stdout`` because XspectraCalculation expects that."""
    table = core_orbital_table(pseudo.get_content())
    return orm.SinglefileData(io.BytesIO(table.encode()), filename='stdout')
