import inspect
import unittest

import shopflow.orders
from shopflow.events import EventBus
from shopflow.inventory import Inventory, OutOfStock
from shopflow.loyalty import Loyalty
from shopflow.mailer import Outbox
from shopflow.orders import Order, OrderError, cancel_order, place_order
from shopflow.wiring import connect


class EventBusTest(unittest.TestCase):
    def test_handlers_called_in_subscription_order(self):
        bus, calls = EventBus(), []
        bus.subscribe("e", lambda p: calls.append(("first", p)))
        bus.subscribe("e", lambda p: calls.append(("second", p)))
        bus.subscribe("other", lambda p: calls.append(("other", p)))
        self.assertEqual(bus.publish("e", 42), 2)
        self.assertEqual(calls, [("first", 42), ("second", 42)])
        self.assertEqual(bus.publish("nobody", 1), 0)

    def test_unsubscribe(self):
        bus, calls = EventBus(), []
        handler = calls.append
        bus.subscribe("e", handler)
        bus.unsubscribe("e", handler)
        bus.publish("e", 1)
        self.assertEqual(calls, [])
        with self.assertRaises(ValueError):
            bus.unsubscribe("e", handler)

    def test_exception_stops_publication(self):
        bus, calls = EventBus(), []

        def fail(payload):
            raise RuntimeError("boom")

        bus.subscribe("e", fail)
        bus.subscribe("e", calls.append)
        with self.assertRaises(RuntimeError):
            bus.publish("e", 1)
        self.assertEqual(calls, [])


class DecoupledOrdersTest(unittest.TestCase):
    def test_place_order_publishes_the_order(self):
        bus, seen = EventBus(), []
        bus.subscribe("order_placed", seen.append)
        order = Order("B1", "cy@example.com", [("pen", 1, 300)])
        place_order(order, bus)
        self.assertEqual(seen, [order])
        self.assertEqual(order.status, "placed")
        cancelled = []
        bus.subscribe("order_cancelled", cancelled.append)
        cancel_order(order, bus)
        self.assertEqual((cancelled, order.status), ([order], "cancelled"))

    def test_failed_publication_leaves_order_new(self):
        bus = EventBus()
        bus.subscribe("order_placed", lambda o: (_ for _ in ()).throw(OutOfStock("pen")))
        order = Order("B2", "cy@example.com", [("pen", 1, 300)])
        with self.assertRaises(OutOfStock):
            place_order(order, bus)
        self.assertEqual((order.status, order.history), ("new", []))

    def test_checks_unchanged(self):
        bus, seen = EventBus(), []
        bus.subscribe("order_placed", seen.append)
        with self.assertRaises(OrderError):
            place_order(Order("B3", "x@y.z", []), bus)
        with self.assertRaises(OrderError):
            cancel_order(Order("B4", "x@y.z", [("pen", 1, 1)]), bus)
        self.assertEqual(seen, [])

    def test_orders_module_knows_no_collaborators(self):
        self.assertEqual(list(inspect.signature(place_order).parameters), ["order", "bus"])
        self.assertEqual(list(inspect.signature(cancel_order).parameters), ["order", "bus"])
        source = inspect.getsource(shopflow.orders)
        for name in ("inventory", "mailer", "loyalty", "Outbox", "Loyalty"):
            self.assertNotIn(name, source)


class WiringTest(unittest.TestCase):
    def setUp(self):
        self.inventory, self.outbox, self.loyalty = Inventory({"mug": 5, "pen": 2}), Outbox(), Loyalty()
        self.bus = EventBus()
        connect(self.bus, self.inventory, self.outbox, self.loyalty)

    def test_same_behaviour_as_before(self):
        order = Order("C1", "ann@example.com", [("mug", 2, 1250), ("pen", 1, 99)])
        place_order(order, self.bus)
        self.assertEqual(self.inventory.stock, {"mug": 3, "pen": 1})
        self.assertEqual(self.loyalty.points, {"ann@example.com": 25})
        cancel_order(order, self.bus)
        self.assertEqual(self.inventory.stock, {"mug": 5, "pen": 2})
        self.assertEqual(self.loyalty.points, {"ann@example.com": 0})
        self.assertEqual(self.outbox.messages, [
            ("ann@example.com", "Order C1 confirmed", "Total: 25.99 EUR"),
            ("ann@example.com", "Order C1 cancelled", "Your order was cancelled."),
        ])

    def test_out_of_stock_sends_nothing(self):
        order = Order("C2", "bob@example.com", [("pen", 3, 100)])
        with self.assertRaises(OutOfStock):
            place_order(order, self.bus)
        self.assertEqual(self.outbox.messages, [])
        self.assertEqual(self.loyalty.points, {})
        self.assertEqual(self.inventory.stock["pen"], 2)
        self.assertEqual(order.status, "new")

    def test_extra_subscriber_runs_after_standard_reactions(self):
        seen = []
        self.bus.subscribe("order_placed", lambda o: seen.append(len(self.outbox.messages)))
        place_order(Order("C3", "dee@example.com", [("mug", 1, 500)]), self.bus)
        self.assertEqual(seen, [1])


if __name__ == "__main__":
    unittest.main()
