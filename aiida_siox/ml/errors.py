"""The error of a spectrum that cannot be used (numpy-free, so every layer can raise and catch it)."""


class SpectrumInputError(ValueError):
    """A spectrum that cannot be used as it is (unreadable, NaN, too short a range, unsorted energies)."""
