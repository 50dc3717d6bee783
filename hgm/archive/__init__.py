"""The run archive: everything a run leaves on disk, and the one way to read and write it.

```
archive/<run>/
  config.yaml   the frozen config of the run
  agents.git/   bare git repository; node N is the commit at refs/nodes/N (node 0: the seed)
  hgm.db        SQLite (WAL): tasks, nodes, expansions, evaluations, llm_calls, skills, events
  artifacts/    trajectories and test logs, content-addressed: artifacts/ab/cdef... by sha256
```

``Run.create`` makes a run, ``Run.open`` reopens one (upgrading its schema and repairing
what a killed process left), and ``check_run`` lists whatever is inconsistent in one.
"""

from hgm.archive.check import Problem, check_run
from hgm.archive.db import SCHEMA_VERSION
from hgm.archive.git import ArchiveError
from hgm.archive.run import RECORD_SCOPES, Run

__all__ = ["RECORD_SCOPES", "SCHEMA_VERSION", "ArchiveError", "Problem", "Run", "check_run"]
