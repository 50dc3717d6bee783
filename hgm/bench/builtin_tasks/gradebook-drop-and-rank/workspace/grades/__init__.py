"""Course grading: a policy (grades.policy) applied to score sheets (grades.report)."""
