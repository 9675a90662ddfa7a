"""ld1.x inputs of the pseudopotentials we generate (recipe tested with QE 6.7, see docs/guide.md, section Pseudopotential families)."""

from pathlib import Path

PSEUDO_INPUT_DIR = Path(__file__).parent
