"""The run engine: run kinds with config schemas, the results store, sweeps.

The constant below is all that importing the package costs.
"""

STATUSES = ("queued", "running", "done", "failed")
