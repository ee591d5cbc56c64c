"""The built-in plugins, named once.

theorycheck finds run kinds and claims the way pytest finds plugins: through entry-point
groups that any installed package may add to. The package's own entry in each group points
at one of the tuples below, so built-ins and third-party plugins load by one code path
(:func:`theorycheck.entry_points.load_group`), and the engines never name a paper.

Groups
------
``theorycheck.run_kinds``
    An entry names a module that registers run kinds on import, or a tuple of such module
    names.
``theorycheck.claims``
    An entry names a module whose module-level :class:`~theorycheck.claims.Claim` objects
    are collected, or a tuple of such module names.
"""

BUILTIN_RUN_KINDS = (
    "theorycheck.claims.run_kind",
    "theorycheck.papers.bfc.run_kinds",
    "theorycheck.papers.labels.run_kinds",
    "theorycheck.papers.three_layer.run_kinds",
)

#: The order is the order of the report and of a first ``check -j N`` (no claim times known
#: yet, so tasks start in this order): the training claims, one task that compiles the
#: learner's fused kernel on a fresh install, come first and the three-layer claims, which
#: need no compiled kernel, next, so that one worker compiles while the other measures
#: instead of both compiling the same kernel.
BUILTIN_CLAIM_MODULES = (
    "theorycheck.proofs.bfc_training",
    "theorycheck.proofs.three_layer",
    "theorycheck.proofs.bfc_target",
    "theorycheck.proofs.critical_degree4",
    "theorycheck.proofs.gaussian_moments",
    "theorycheck.proofs.hierarchy",
    "theorycheck.proofs.kernels",
    "theorycheck.proofs.learner_invariants",
    "theorycheck.proofs.lemmas_bfc",
    "theorycheck.proofs.separation",
)
