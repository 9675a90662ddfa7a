"""``siox.lammps_raw``: aiida-lammps's raw parser, tolerant of a log cut off by a kill."""

from __future__ import annotations

from aiida_lammps.parsers.raw import LammpsRawParser


class MeltQuenchLammpsParser(LammpsRawParser):
    """Parse like aiida-lammps 1.0.2, but a truncated log is an interrupted run, not a parser crash.

    aiida-lammps indexes ``line.split()[0]`` of every line after a thermo header and evaluates each
    entry with ``ast.literal_eval``: a job killed at its wall time can leave an empty or half-written
    last line, and the parser then raises (IndexError/SyntaxError), the CalcJob is *excepted* and no
    restart handler may act (measured under load in the kill test). Returning the calculation's own
    ERROR_PARSING_OUTFILE instead lets MeltQuenchWorkChain resume from the newest restart file.
    """

    def parse(self, **kwargs):
        try:
            return super().parse(**kwargs)
        except (IndexError, ValueError, SyntaxError) as exception:
            self.logger.warning(f'LAMMPS log ends mid-line (job interrupted?): {type(exception).__name__}: {exception}')
            return self.exit_codes.ERROR_PARSING_OUTFILE
