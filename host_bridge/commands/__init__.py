"""`slsbridge` subcommands: each module defines `register(subparsers)` (see `slsio.cli`)."""
