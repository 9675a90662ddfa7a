"""aiida-siox: provenance-tracked ML XANES pipeline for amorphous silicon suboxides (SiOx)."""

__version__ = '0.1.0'
