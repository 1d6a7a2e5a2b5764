"""The device side: image files on disk, keypress scripts, the serial server, the TUI, the `slsemu` CLI."""
