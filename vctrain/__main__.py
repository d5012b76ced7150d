"""`python -m vctrain ...` (and `torchrun -m vctrain ...`) run the CLI."""

from vctrain.cli import app

app()
