import datetime as dt
import unittest

from todo import TodoList

D = dt.date


class RepeatTest(unittest.TestCase):
    def setUp(self):
        self.todo = TodoList()

    def add(self, text):
        return self.todo.add(text, D(2024, 1, 1))

    def test_next_occurrence_is_a_new_open_task(self):
        task = self.add("Water plants due:2024-05-06 +garden !high repeat:3d")
        following = self.todo.complete(task.id, D(2024, 5, 6))
        self.assertEqual(following.id, 2)
        self.assertEqual(following.due, D(2024, 5, 9))
        self.assertEqual((following.title, following.priority, following.tags, following.repeat),
                         ("Water plants", "high", {"garden"}, "3d"))
        self.assertFalse(following.done)
        self.assertTrue(self.todo.get(1).done)
        self.assertEqual(self.todo.tasks(), [following])
        self.assertEqual(self.add("other").id, 3)

    def test_daily_completed_late_comes_back_tomorrow(self):
        task = self.add("Stretch due:2024-05-01 repeat:daily")
        self.assertEqual(self.todo.complete(task.id, D(2024, 5, 4)).due, D(2024, 5, 5))

    def test_completed_early_uses_due_date(self):
        task = self.add("Report due:2024-05-10 repeat:weekly")
        self.assertEqual(self.todo.complete(task.id, D(2024, 5, 8)).due, D(2024, 5, 17))

    def test_weekly_late_keeps_weekday(self):
        task = self.add("Team sync due:2024-05-06 repeat:weekly")  # a Monday
        self.assertEqual(self.todo.complete(task.id, D(2024, 5, 15)).due, D(2024, 5, 20))

    def test_monthly_clamps_to_month_end(self):
        task = self.add("Bill due:2024-01-31 repeat:monthly")
        self.assertEqual(self.todo.complete(task.id, D(2024, 1, 31)).due, D(2024, 2, 29))
        task = self.add("Bill due:2023-01-31 repeat:monthly")
        self.assertEqual(self.todo.complete(task.id, D(2023, 1, 20)).due, D(2023, 2, 28))
        task = self.add("Rent due:2024-03-31 repeat:monthly")
        self.assertEqual(self.todo.complete(task.id, D(2024, 3, 31)).due, D(2024, 4, 30))

    def test_monthly_paid_late_keeps_day(self):
        task = self.add("Bill due:2024-01-31 repeat:monthly")
        self.assertEqual(self.todo.complete(task.id, D(2024, 3, 5)).due, D(2024, 3, 31))
        task = self.add("Card due:2024-11-15 repeat:monthly")
        self.assertEqual(self.todo.complete(task.id, D(2024, 12, 20)).due, D(2025, 1, 15))

    def test_weekdays(self):
        task = self.add("Standup due:2024-05-10 repeat:weekdays")  # a Friday
        following = self.todo.complete(task.id, D(2024, 5, 10))
        self.assertEqual(following.due, D(2024, 5, 13))
        self.assertEqual(self.todo.complete(following.id, D(2024, 5, 13)).due, D(2024, 5, 14))
        task = self.add("Standup due:2024-05-08 repeat:weekdays")
        self.assertEqual(self.todo.complete(task.id, D(2024, 5, 11)).due, D(2024, 5, 13))

    def test_plain_task_still_returns_none(self):
        task = self.add("Once due:2024-05-01")
        self.assertIsNone(self.todo.complete(task.id, D(2024, 5, 1)))
        self.assertEqual(self.todo.tasks(), [])

    def test_chain_of_completions(self):
        task = self.add("Backup due:2024-05-01 repeat:7d")
        dues = []
        for day in (D(2024, 5, 1), D(2024, 5, 9), D(2024, 5, 15)):
            task = self.todo.complete(task.id, day)
            dues.append(task.due)
        self.assertEqual(dues, [D(2024, 5, 8), D(2024, 5, 15), D(2024, 5, 22)])
        self.assertEqual(len(self.todo.tasks(include_done=True)), 4)


if __name__ == "__main__":
    unittest.main()
