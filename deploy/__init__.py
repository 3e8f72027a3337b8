"""Running the production topology on one machine: `make stack` (stack.py) and its vendor stand-ins."""
