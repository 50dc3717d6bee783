"""The grading policy of a course and the arithmetic that applies it.

A policy has weighted categories (homework 30 %, quizzes 20 %, ...). Within a
category the scores are combined by total points: the sum of the points earned
divided by the sum of the points possible. Before that:

- excused scores are left out entirely;
- late work loses ``late_penalty`` percent of its points per day late, and work more
  than ``max_late_days`` late earns nothing;
- the ``drop_lowest`` scores with the lowest percentage (points earned / points
  possible, after the late penalty) are left out, as long as at least one score
  remains.

The final percentage is the weighted mean of the category percentages; categories
without any (non-excused) score are skipped and the remaining weights rescaled.
Letters are looked up after rounding the final percentage to one decimal place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_LETTERS = (
    (93.0, "A"), (90.0, "A-"), (87.0, "B+"), (83.0, "B"), (80.0, "B-"),
    (77.0, "C+"), (73.0, "C"), (70.0, "C-"), (60.0, "D"), (0.0, "F"),
)


class PolicyError(ValueError):
    """A policy or a score sheet breaks the rules above."""


@dataclass(frozen=True)
class Score:
    name: str
    points: float
    max_points: float
    days_late: int = 0
    excused: bool = False


@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    drop_lowest: int = 0
    late_penalty: float = 0.0  # percent of the points per day late
    max_late_days: int = 7


@dataclass(frozen=True)
class Policy:
    categories: tuple
    letters: tuple = DEFAULT_LETTERS

    def category(self, name: str) -> Category:
        for category in self.categories:
            if category.name == name:
                return category
        raise PolicyError(f"unknown category {name!r}")


def policy_from_dict(data: dict) -> Policy:
    """Build a policy from parsed JSON/TOML, checking that it makes sense."""
    categories = []
    for name, spec in data.get("categories", {}).items():
        unknown = set(spec) - {"weight", "drop_lowest", "late_penalty", "max_late_days"}
        if unknown:
            raise PolicyError(f"{name}: unknown settings {sorted(unknown)}")
        category = Category(
            name,
            float(spec["weight"]),
            int(spec.get("drop_lowest", 0)),
            float(spec.get("late_penalty", 0.0)),
            int(spec.get("max_late_days", 7)),
        )
        _check_category(category)
        categories.append(category)
    if not categories:
        raise PolicyError("a policy needs at least one category")
    total = sum(c.weight for c in categories)
    if abs(total - 100.0) > 1e-9:
        raise PolicyError(f"category weights add up to {total:g}, not 100")
    letters = tuple((float(t), str(letter)) for t, letter in data.get("letters", DEFAULT_LETTERS))
    if [t for t, _ in letters] != sorted((t for t, _ in letters), reverse=True):
        raise PolicyError("letter thresholds must be listed from highest to lowest")
    return Policy(tuple(categories), letters)


def _check_category(category: Category) -> None:
    if category.weight <= 0:
        raise PolicyError(f"{category.name}: weight must be positive")
    if category.drop_lowest < 0:
        raise PolicyError(f"{category.name}: drop_lowest cannot be negative")
    if not 0 <= category.late_penalty <= 100:
        raise PolicyError(f"{category.name}: late_penalty must be between 0 and 100")


def adjusted_points(score: Score, category: Category) -> float:
    """The points a score earns after the late penalty."""
    if score.days_late <= 0:
        return score.points
    if score.days_late > category.max_late_days:
        return 0.0
    factor = max(0.0, 1 - category.late_penalty * score.days_late / 100)
    return score.points * factor


def category_percentage(scores, category: Category):
    """The percentage earned in one category, or None when nothing counts."""
    counted = [s for s in scores if not s.excused]
    if not counted:
        return None
    for s in counted:
        if s.max_points <= 0:
            raise PolicyError(f"{s.name}: max_points must be positive")
    drop = min(category.drop_lowest, len(counted) - 1)
    ranked = sorted(counted, key=lambda s: adjusted_points(s, category))
    kept = ranked[drop:]
    earned = sum(adjusted_points(s, category) for s in kept)
    possible = sum(s.max_points for s in kept)
    return 100.0 * earned / possible


def final_percentage(scores_by_category: dict, policy: Policy):
    """The weighted final percentage, or None when no category has a score."""
    total_weight = 0.0
    weighted = 0.0
    for category in policy.categories:
        pct = category_percentage(scores_by_category.get(category.name, []), category)
        if pct is None:
            continue
        weighted += pct * category.weight
        total_weight += category.weight
    unknown = set(scores_by_category) - {c.name for c in policy.categories}
    if unknown:
        raise PolicyError(f"scores for unknown categories: {sorted(unknown)}")
    return weighted / total_weight if total_weight else None


def rounded(percentage: float) -> Decimal:
    """``percentage`` rounded half-up to one decimal place (89.95 -> 90.0)."""
    return Decimal(repr(percentage)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def letter_for(percentage, policy: Policy) -> str:
    """The letter for a final percentage; "I" (incomplete) when there is none."""
    if percentage is None:
        return "I"
    value = rounded(percentage)
    for threshold, letter in policy.letters:
        if value >= Decimal(repr(threshold)):
            return letter
    return policy.letters[-1][1]
