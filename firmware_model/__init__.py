"""Pure device firmware: state machines, codes (OCRA, HOTP/TOTP, SCC grid), image (de)serialisation.

No I/O, no wall clock, no randomness of its own: the caller passes `now` and an entropy source.
"""
