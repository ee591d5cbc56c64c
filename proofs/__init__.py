"""The built-in claim library: one module per section of docs/theory.md.

Every module-level :class:`theorycheck.Claim` here is discovered by
``theorycheck check``.
"""
