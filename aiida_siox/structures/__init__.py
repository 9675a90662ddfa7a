"""Building SiOx starting cells (pure Python, no AiiDA imports)."""

from .builder import PAPER_FORMULAS, build_siox_cell, siox_formula

__all__ = ['PAPER_FORMULAS', 'build_siox_cell', 'siox_formula']
