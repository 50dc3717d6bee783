import unittest

from router import Router
from router.errors import RouteError


class RouterTest(unittest.TestCase):
    def test_int_parameter(self):
        r = Router()
        r.add("/users/<int:user_id>", "show_user")
        m = r.match("/users/42")
        self.assertEqual((m.handler, m.params), ("show_user", {"user_id": 42}))

    def test_method_filter(self):
        r = Router()
        r.add("/items", "create", methods=("POST",))
        self.assertIsNone(r.match("/items"))
        self.assertEqual(r.match("/items", "POST").handler, "create")

    def test_unknown_converter(self):
        with self.assertRaises(RouteError):
            Router().add("/x/<uuid:x>", "h")


if __name__ == "__main__":
    unittest.main()
