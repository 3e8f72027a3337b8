"""The kernel every package may import: the errors a caller can act on. It imports nothing of the project."""
