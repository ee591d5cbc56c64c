"""Independent cells of a study on worker processes: :func:`process_map` gives a ``map`` over
a process pool whose workers each use one BLAS thread (the cells are the parallelism; a
multi-threaded BLAS in each of several processes oversubscribes the cores, and on a busy
machine OpenBLAS's spinning threads made a factorisation up to 100 times slower,
docs/kernels.md).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable


def process_map(jobs: int):
    """A context manager giving ``map(fn, items)`` over ``jobs`` worker processes, one BLAS
    thread each, results in the order of ``items``; builtin ``map`` for ``jobs <= 1``.

    Parameters
    ----------
    jobs : int
        Worker processes.

    Returns
    -------
    context manager yielding a callable ``(fn, items) -> iterator``
        ``fn`` must be a module-level function (it is pickled).

    Examples
    --------
    >>> with process_map(1) as pmap:
    ...     list(pmap(abs, [-1, 2]))
    [1, 2]
    """
    if jobs <= 1:
        return contextlib.nullcontext(map)
    return _pooled(jobs)


@contextlib.contextmanager
def _pooled(jobs: int):
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(jobs, initializer=one_blas_thread) as ex:
        def pmap(fn: Callable, items: Iterable):
            return ex.map(fn, items, chunksize=1)
        yield pmap


def one_blas_thread() -> None:
    """Limit every loaded BLAS (numpy's and scipy's own) to one thread."""
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, so that the limit reaches it)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
