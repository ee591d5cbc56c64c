"""Exception types. Every error a user can cause is a ``TheorycheckError``.

``TheorycheckError`` subclasses ``ValueError`` so ordinary ``except ValueError``
code keeps working; the CLI prints its message as one line and exits with
status 2 instead of showing a traceback.
"""

from __future__ import annotations


class TheorycheckError(ValueError):
    """Bad input to theorycheck; the message names the value and the fix.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class SpecError(TheorycheckError):
    """A target, learner or run specification that cannot be built.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """


class ClaimError(TheorycheckError):
    """A claim that is malformed, or a claim id / pattern that matches nothing.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """


class NumericalError(TheorycheckError):
    """A computation produced non-finite values (overflow, NaN in a batch).

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """


class BudgetError(SpecError):
    """A size whose estimated memory, time or term count exceeds the budget
    (:mod:`theorycheck.budget`); the message gives the estimate and the largest size that fits."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, after a command saved what it had: the message says what was kept. The CLI
    prints it as one line and exits with status 130."""


_OS_FIXES = {
    "EACCES": "check its permissions or choose another path",
    "EPERM": "check its permissions or choose another path",
    "EROFS": "the file system is read-only; choose another path",
    "EISDIR": "it is a folder; pass a file path",
    "ENOTDIR": "a part of the path is a file, not a folder; choose another path",
    "ENOENT": "it does not exist; check the path (create the folder first for an output)",
    "ENOSPC": "the disk is full; free some space or choose another path",
    "EDQUOT": "the disk quota is exhausted; free some space or choose another path",
    "ENAMETOOLONG": "the name is too long; choose a shorter path",
    "EEXIST": "it exists already; remove it or choose another path",
    "ELOOP": "it is a symbolic link loop; fix the link or choose another path",
}


def os_error_message(exc: OSError, path=None, action: str = "use") -> str:
    """One line for a file-system error: what could not be done to which path, why, and the
    fix (by errno), e.g. ``cannot write 'out/report.json': Permission denied; check its
    permissions or choose another path``."""
    import errno as _errno

    name = path if path is not None else (exc.filename if exc.filename is not None else None)
    why = exc.strerror or type(exc).__name__
    code = _errno.errorcode.get(exc.errno or -1, "")
    fix = _OS_FIXES.get(code, "check the path and try again")
    where = f" {str(name)!r}" if name is not None else ""
    return f"cannot {action}{where}: {why}; {fix}"


def file_error(exc: OSError, path=None, action: str = "use") -> TheorycheckError:
    """A :class:`TheorycheckError` with :func:`os_error_message`'s one line."""
    return TheorycheckError(os_error_message(exc, path, action))
