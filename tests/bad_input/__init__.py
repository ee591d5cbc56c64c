"""Bad input for every command and the public API (docs/errors.md): each case asserts the
refusal (exit status 2, or 130 for Ctrl-C), exactly one line on stderr naming the offending
value, no traceback, and the store and any earlier report byte-identical afterwards."""
