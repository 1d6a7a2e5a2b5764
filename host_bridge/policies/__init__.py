"""The Secure Login System policies, pure: data and dates in, decisions out (docs/policies.md).

No SQLite, no clock, no randomness here: `host_bridge.services` reads the store, calls these
and writes the outcome.

- `calendar`: business days and the rolling five-business-day window.
- `devices`: device kinds, protection levels, `HeldDevice`.
- `withdrawal`: limits set by the confirming device (KB2895).
- `sharing`: sharing a physical device between users (KB2481).
- `optout`: opt-out, partial opt-out, opt-in (KB2545, KB1198).
- `temporary`: Temporary Code and Online Security Code Card (KB70, KB69, KB1873).
- `ordering`: DSC+ eligibility, replacement, hold, auto-activation (KB1943).
- `lockout`: the failure budget of every secret (device answers and what a person types).
"""
