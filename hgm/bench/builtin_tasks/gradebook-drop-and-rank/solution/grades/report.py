"""Score sheets in, class reports out.

A score sheet is a list of rows (dicts, e.g. from ``csv.DictReader``) with the
columns ``student``, ``category``, ``item``, ``points``, ``max_points`` and the
optional ``days_late`` and ``excused`` (``yes``/``no``).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from grades.policy import Policy, PolicyError, Score, final_percentage, letter_for, rounded


@dataclass(frozen=True)
class StudentResult:
    student: str
    percentage: float | None
    letter: str

    @property
    def display(self) -> str:
        """The percentage as shown on reports: one decimal, or "-" when incomplete."""
        return "-" if self.percentage is None else f"{rounded(self.percentage)}"


def _flag(text) -> bool:
    value = (text or "").strip().lower()
    if value in ("", "no", "n", "false", "0"):
        return False
    if value in ("yes", "y", "true", "1"):
        return True
    raise PolicyError(f"not a yes/no value: {text!r}")


def scores_by_student(rows) -> dict:
    """{student: {category: [Score, ...]}} from score-sheet rows, in sheet order."""
    sheet = defaultdict(lambda: defaultdict(list))
    for number, row in enumerate(rows, start=1):
        try:
            score = Score(
                row["item"],
                float(row["points"]),
                float(row["max_points"]),
                int(row.get("days_late") or 0),
                _flag(row.get("excused")),
            )
            sheet[row["student"].strip()][row["category"].strip()].append(score)
        except (KeyError, ValueError) as e:
            raise PolicyError(f"row {number}: {e}") from None
    return {student: dict(categories) for student, categories in sheet.items()}


def compute_results(rows, policy: Policy) -> list:
    """One result per student, sorted by name."""
    results = []
    for student, categories in sorted(scores_by_student(rows).items()):
        pct = final_percentage(categories, policy)
        results.append(StudentResult(student, pct, letter_for(pct, policy)))
    return results


def class_statistics(results) -> dict:
    """Mean, median, spread and extremes of the complete results."""
    values = [r.percentage for r in results if r.percentage is not None]
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "stdev": statistics.pstdev(values),
        "highest": max(values),
        "lowest": min(values),
    }


def letter_distribution(results, policy: Policy) -> list:
    """(letter, count) for every letter of the policy, best first, plus "I" if any."""
    counts = Counter(r.letter for r in results)
    rows = [(letter, counts.get(letter, 0)) for _, letter in policy.letters]
    if counts.get("I"):
        rows.append(("I", counts["I"]))
    return rows


def histogram(results, policy: Policy, width: int = 30) -> str:
    """A text bar chart of the letter distribution."""
    rows = letter_distribution(results, policy)
    most = max((n for _, n in rows), default=0) or 1
    lines = []
    for letter, count in rows:
        bar = "#" * round(width * count / most)
        lines.append(f"{letter:<3}{count:>4} {bar}".rstrip())
    return "\n".join(lines)


def ranking(results) -> list:
    """(rank, result) pairs, best first; incomplete results are not ranked.

    Results whose displayed percentages are equal share a rank, and the ranks after
    them skip accordingly ("1, 2, 2, 4"). Equal results are listed by name.
    """
    complete = [r for r in results if r.percentage is not None]
    ordered = sorted(complete, key=lambda r: (-rounded(r.percentage), r.student))
    ranked = []
    for position, result in enumerate(ordered, start=1):
        if ranked and rounded(result.percentage) == rounded(ranked[-1][1].percentage):
            position = ranked[-1][0]
        ranked.append((position, result))
    return ranked


def format_report(results, policy: Policy) -> str:
    """The class report: ranking table, statistics and letter histogram."""
    lines = [f"{'Rank':>4}  {'Student':<20} {'Final':>6}  Letter"]
    for rank, result in ranking(results):
        lines.append(f"{rank:>4}  {result.student:<20} {result.display:>6}  {result.letter}")
    for result in results:
        if result.percentage is None:
            lines.append(f"{'':>4}  {result.student:<20} {result.display:>6}  {result.letter}")
    stats = class_statistics(results)
    if stats["count"]:
        lines.append("")
        lines.append(
            f"mean {stats['mean']:.1f}  median {stats['median']:.1f}  "
            f"stdev {stats['stdev']:.1f}  range {stats['lowest']:.1f}-{stats['highest']:.1f}"
        )
    lines.append("")
    lines.append(histogram(results, policy))
    return "\n".join(lines)


def to_csv(results) -> str:
    """The results as CSV (student, final, letter, rank) in ranking order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "final", "letter", "rank"])
    ranked = ranking(results)
    for rank, result in ranked:
        writer.writerow([result.student, result.display, result.letter, rank])
    for result in results:
        if result.percentage is None:
            writer.writerow([result.student, result.display, result.letter, ""])
    return out.getvalue()
