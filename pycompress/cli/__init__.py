"""Stage 7, the top floor: the `pycompress` command line (`main.py`, entry point
`pycompress.cli.main:main`), one module per group of sub-commands in `commands/`, and the demo.
Every failure a user can cause is one line on stderr, exit 2.

May import every stage.
"""
