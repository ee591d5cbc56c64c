"""numba kernels (``cache=True``). Import through the public modules, not directly."""
