"""Model file format, folding and the converter CLI (`python -m tools.convert`)."""
