"""The device side: image files, keypress scripts, the serial server, the TUI, the `slsemu` CLI."""
