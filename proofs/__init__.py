"""The built-in claim library: one module per section of THEORY.md.

Every module-level :class:`theorycheck.Claim` here is discovered by
``theorycheck check``.
"""
