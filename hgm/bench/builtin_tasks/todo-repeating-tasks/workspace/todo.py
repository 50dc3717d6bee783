"""A to-do list with due dates, priorities, tags and repeating tasks.

Tasks are usually added with the quick-add syntax::

    Pay rent due:2024-05-01 +home !high repeat:monthly

- ``due:YYYY-MM-DD`` sets the due date (``due:today`` and ``due:tomorrow`` work too);
- ``+word`` adds a tag;
- ``!low``, ``!normal`` (the default) or ``!high`` sets the priority;
- ``repeat:RULE`` makes the task repeat (needs a due date). Rules: ``daily``,
  ``weekly``, ``monthly``, ``weekdays`` (Monday to Friday) and ``<n>d`` (every n
  days, e.g. ``3d``).

When a repeating task is completed, the next occurrence is added as a new open task
(same title, priority, tags and rule), due on the first date after the completed
task's due date that follows the rule *and* lies after the day of completion, so
that finishing late never creates a task that is already overdue. ``monthly`` keeps
the day of the month, or uses the last day of shorter months.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

PRIORITIES = ("low", "normal", "high")
_RULE = re.compile(r"^(daily|weekly|monthly|weekdays|[1-9]\d*d)$")


class TodoError(ValueError):
    """A task could not be added or changed as asked."""


@dataclass(frozen=True)
class Task:
    id: int
    title: str
    due: dt.date | None = None
    priority: str = "normal"
    tags: frozenset = frozenset()
    repeat: str | None = None
    done: bool = False
    completed_on: dt.date | None = None

    def line(self) -> str:
        """One line for listings: ``[x] 3 Title (due 2024-05-01) +tag !high``."""
        parts = [f"[{'x' if self.done else ' '}] {self.id} {self.title}"]
        if self.due:
            parts.append(f"(due {self.due.isoformat()})")
        parts += [f"+{tag}" for tag in sorted(self.tags)]
        if self.priority != "normal":
            parts.append(f"!{self.priority}")
        if self.repeat:
            parts.append(f"repeat:{self.repeat}")
        return " ".join(parts)


def _parse_due(word: str, today: dt.date) -> dt.date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(word)
    except ValueError:
        raise TodoError(f"bad due date {word!r}") from None


def parse_quick_add(text: str, today: dt.date) -> dict:
    """The fields of a task written in quick-add syntax (see the module docstring)."""
    title_words, fields, tags = [], {}, set()
    for word in text.split():
        if word.startswith("due:"):
            fields["due"] = _parse_due(word[4:], today)
        elif word.startswith("repeat:"):
            rule = word[7:]
            if not _RULE.match(rule):
                raise TodoError(f"unknown repeat rule {rule!r}")
            fields["repeat"] = rule
        elif word.startswith("!") and word[1:] in PRIORITIES:
            fields["priority"] = word[1:]
        elif word.startswith("+") and len(word) > 1:
            tags.add(word[1:].lower())
        else:
            title_words.append(word)
    if not title_words:
        raise TodoError("a task needs a title")
    if "repeat" in fields and "due" not in fields:
        raise TodoError("a repeating task needs a due date")
    fields["title"] = " ".join(title_words)
    fields["tags"] = frozenset(tags)
    return fields


class TodoList:
    """The tasks, by id. Ids are never reused."""

    def __init__(self) -> None:
        self._tasks: dict[int, Task] = {}
        self._next_id = 1

    def add(self, text: str, today: dt.date) -> Task:
        """Add a task written in quick-add syntax."""
        task = Task(self._next_id, **parse_quick_add(text, today))
        self._tasks[task.id] = task
        self._next_id += 1
        return task

    def get(self, task_id: int) -> Task:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise TodoError(f"no task {task_id}") from None

    def complete(self, task_id: int, today: dt.date):
        """Mark a task done. Returns the next occurrence of a repeating task, else None."""
        task = self.get(task_id)
        if task.done:
            raise TodoError(f"task {task_id} is already done")
        self._tasks[task_id] = replace(task, done=True, completed_on=today)
        return None

    def reopen(self, task_id: int) -> Task:
        task = self.get(task_id)
        if not task.done:
            raise TodoError(f"task {task_id} is not done")
        task = replace(task, done=False, completed_on=None)
        self._tasks[task_id] = task
        return task

    def remove(self, task_id: int) -> None:
        self.get(task_id)
        del self._tasks[task_id]

    def tasks(self, include_done: bool = False) -> list:
        """Tasks in listing order: by due date (none last), then priority, then id."""
        chosen = [t for t in self._tasks.values() if include_done or not t.done]
        rank = {p: i for i, p in enumerate(reversed(PRIORITIES))}
        return sorted(
            chosen,
            key=lambda t: (t.due is None, t.due or dt.date.max, rank[t.priority], t.id),
        )

    def overdue(self, today: dt.date) -> list:
        return [t for t in self.tasks() if t.due and t.due < today]

    def due_on(self, day: dt.date) -> list:
        return [t for t in self.tasks() if t.due == day]

    def tagged(self, tag: str) -> list:
        return [t for t in self.tasks() if tag.lower() in t.tags]

    def agenda(self, today: dt.date, days: int = 7) -> str:
        """Overdue tasks, then the tasks of each of the next ``days`` days."""
        lines = []
        late = self.overdue(today)
        if late:
            lines.append("Overdue")
            lines += ["  " + t.line() for t in late]
        for offset in range(days):
            day = today + dt.timedelta(days=offset)
            due = self.due_on(day)
            if due:
                lines.append(f"{day:%a %d %b}")
                lines += ["  " + t.line() for t in due]
        return "\n".join(lines)
