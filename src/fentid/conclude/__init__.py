"""From hit lists to conclusions an analyst can defend.

- :mod:`.rules`: one component's hit list -> :class:`Verdict`, one small rule at a time
  (:data:`RULES`, in order; the first that applies decides and is named in the verdict).
- :mod:`.case`: rules over the components of one case (one retention time per compound) and
  the SWGDRUG combination of techniques.
- :mod:`.knowledge`: isomer groups, stereoisomers (same constitution), library coverage.
- :mod:`.policy`: the thresholds, measured by ``benchmarks/measure_thresholds.py``.
"""

from fentid.conclude.case import combine_case, one_retention_time_per_compound
from fentid.conclude.knowledge import CompoundFacts, Knowledge
from fentid.conclude.policy import POLICIES, Policy, policy_for
from fentid.conclude.rules import (
    RESOLVE_ISOMERS,
    RULES,
    Evidence,
    QueryFacts,
    Verdict,
    best_per_compound,
    conclude,
)

__all__ = ["POLICIES", "RESOLVE_ISOMERS", "RULES", "CompoundFacts", "Evidence", "Knowledge",
           "Policy", "QueryFacts", "Verdict", "best_per_compound", "combine_case", "conclude",
           "one_retention_time_per_compound", "policy_for"]
