"""UPF post-processing: line re-wrapping for pw.x 6.7 and the xspectra core-orbital table."""

import numpy as np
import pytest

from aiida_siox.calculations.pseudo_files import MAX_LINE, core_orbital_table, rewrap_long_lines

UPF = """<UPF version="2.0.1">
  <PP_MESH>
    <PP_R type="real" size="4">
 1.0E-03 2.0E-03 3.0E-03 4.0E-03
    </PP_R>
  </PP_MESH>
  <PP_GIPAW_CORE_ORBITAL.1 size="4" index="1" label="1S" n="1" l="0">
 1.0E-01 2.0E-01 1.5E-01 1.0E-02
  </PP_GIPAW_CORE_ORBITAL.1>
</UPF>
"""


def test_long_numeric_lines_are_rewrapped_and_values_kept():
    values = [f'{v:.15E}' for v in np.linspace(0, 1, 300)]
    text = '<PP_X>\n' + ' '.join(values) + '\n</PP_X>\n'
    wrapped = rewrap_long_lines(text)
    assert max(len(line) for line in wrapped.splitlines()) <= MAX_LINE
    assert wrapped.split()[1:-1] == values


def test_core_orbital_table_has_radius_and_1s():
    table = core_orbital_table(UPF)
    lines = table.splitlines()
    assert lines[0].startswith('#')
    data = np.array([line.split() for line in lines[1:]], float)
    assert np.allclose(data[:, 0], [1e-3, 2e-3, 3e-3, 4e-3])
    assert np.allclose(data[:, 1], [0.1, 0.2, 0.15, 0.01])


def test_core_orbital_needs_gipaw():
    with pytest.raises(ValueError, match='no GIPAW core orbitals'):
        core_orbital_table('<UPF><PP_R>1 2</PP_R></UPF>')
