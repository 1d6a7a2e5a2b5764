"""I/O helpers shared by both sides (`emulator` and `host_bridge`).

`firmware_model` is pure; the two outer packages both need the same few pieces of I/O: the data
folder (`SLSEMU_HOME`), durable atomic file writes and bounded reads (`files`), the CLI edge that
turns errors into exit codes and reads stdin (`cli`), secret options kept out of the process list
(`secret_args`), the one TOML reader (`toml`) and the serial client. They live here once instead
of being copied into both sides.
"""
