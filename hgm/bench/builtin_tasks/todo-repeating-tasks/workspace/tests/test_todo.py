import datetime as dt
import unittest

from todo import TodoError, TodoList

TODAY = dt.date(2024, 5, 6)


class TodoTest(unittest.TestCase):
    def setUp(self):
        self.todo = TodoList()

    def test_quick_add(self):
        task = self.todo.add("Pay rent due:2024-05-01 +Home !high repeat:monthly", TODAY)
        self.assertEqual(task.title, "Pay rent")
        self.assertEqual(task.due, dt.date(2024, 5, 1))
        self.assertEqual(task.tags, {"home"})
        self.assertEqual(task.line(), "[ ] 1 Pay rent (due 2024-05-01) +home !high repeat:monthly")

    def test_repeat_needs_due_date(self):
        with self.assertRaises(TodoError):
            self.todo.add("Stretch repeat:daily", TODAY)

    def test_complete_plain_task(self):
        task = self.todo.add("Call mum due:today", TODAY)
        self.assertIsNone(self.todo.complete(task.id, TODAY))
        self.assertEqual(self.todo.tasks(), [])
        with self.assertRaises(TodoError):
            self.todo.complete(task.id, TODAY)

    def test_ordering(self):
        self.todo.add("later", TODAY)
        self.todo.add("soon due:tomorrow !low", TODAY)
        self.todo.add("soon but important due:tomorrow !high", TODAY)
        self.assertEqual([t.id for t in self.todo.tasks()], [3, 2, 1])


if __name__ == "__main__":
    unittest.main()
