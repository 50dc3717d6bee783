"""Summaries of task lists."""

from toolkit.utils import mean, percent, truncate_words


def summarize(tasks):
    """One line per task plus a completion line. `tasks` are dicts: title, done, hours."""
    lines = [f"[{'x' if t['done'] else ' '}] {truncate_words(t['title'], 5)}" for t in tasks]
    done = sum(1 for t in tasks if t["done"])
    lines.append(f"{done}/{len(tasks)} done ({percent(done, len(tasks))}%)")
    if tasks:
        lines.append(f"average estimate: {mean(t['hours'] for t in tasks):.1f} h")
    return "\n".join(lines)
