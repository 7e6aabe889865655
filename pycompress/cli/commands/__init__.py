"""Sub-command modules: each file here defines `register(subparsers)` and is picked up by the CLI."""
