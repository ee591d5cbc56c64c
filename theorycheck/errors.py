"""Exception types. Every error a user can cause is a ``TheorycheckError``.

``TheorycheckError`` subclasses ``ValueError`` so ordinary ``except ValueError``
code keeps working; the CLI prints its message as one line and exits with
status 2 instead of showing a traceback.
"""

from __future__ import annotations


class TheorycheckError(ValueError):
    """Bad input to theorycheck; the message names the value and the fix."""


class SpecError(TheorycheckError):
    """A target, learner or run specification that cannot be built."""


class ClaimError(TheorycheckError):
    """A claim that is malformed, or a claim id / pattern that matches nothing."""


class NumericalError(TheorycheckError):
    """A computation produced non-finite values (overflow, NaN in a batch)."""
