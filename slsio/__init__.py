"""I/O helpers shared by both sides (`emulator` and `host_bridge`).

`firmware_model` is pure; the two outer packages both need the same few pieces of I/O: the data
folder (`SLSEMU_HOME`), durable atomic file writes, and the CLI edge that turns errors into exit
codes. They live here once instead of being copied into both sides.
"""
