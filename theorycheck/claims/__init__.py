"""The claims engine: checkable statements with verdicts that can fail (docs/theory.md §0.2).

The constants below are all that importing the package costs; the engine lives in
:mod:`theorycheck.claims.engine`.
"""

SCALES = ("quick", "full")
VERDICTS = ("holds", "fails", "inconclusive", "error")
TAGS = ("A", "R", "M")
