"""The skill library: skills on disk (:mod:`hgm.skills.format`), their sandboxed verification
(:mod:`hgm.skills.verify`), the starter library (:mod:`hgm.skills.starter`), retrieval, the
run's index and the exports. docs/skills.md explains the whole."""
