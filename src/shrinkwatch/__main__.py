"""``python -m shrinkwatch`` runs the command line."""

from shrinkwatch.cli import main

main()
