"""`python -m tousu` — the same as the `tousu` command."""

from tousu.cli import main

main()
