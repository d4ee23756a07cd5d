"""``python -m shrinkwatch`` runs the command line."""

from .cli import main

main()
