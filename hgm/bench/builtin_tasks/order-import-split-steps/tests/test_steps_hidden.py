import dataclasses
import datetime as dt
import unittest
from decimal import Decimal

from order_import import (Order, OrderLine, ParsedRow, RowError, group_rows, import_orders,
                          parse_row)


def row(order_id="A-1001", customer="ann@example.com", date="2024-05-01", sku="MUG-01",
        quantity="2", unit_price="9.50"):
    return {"order_id": order_id, "customer": customer, "date": date, "sku": sku,
            "quantity": quantity, "unit_price": unit_price}


def parsed(line, order_id="A-1001", customer="ann@example.com", day=1, sku="MUG-01",
           quantity=1, price="9.50"):
    return ParsedRow(line, order_id, customer, dt.date(2024, 5, day), sku, quantity, Decimal(price))


class ParseRowTest(unittest.TestCase):
    def test_normalises(self):
        got = parse_row(row(order_id=" a-1001", customer=" Ann@Example.COM", date="01.05.2024",
                            sku="mug-01", quantity=" 3", unit_price="9,5"), 7)
        self.assertEqual(got, ParsedRow(7, "A-1001", "ann@example.com", dt.date(2024, 5, 1),
                                        "MUG-01", 3, Decimal("9.5")))
        with self.assertRaises(dataclasses.FrozenInstanceError):
            got.quantity = 1

    def test_errors_carry_line_and_message(self):
        cases = [
            (row(order_id="1001"), "line 5: bad order id '1001'"),
            (row(customer="ann"), "line 5: bad customer e-mail 'ann'"),
            (row(date="2024-02-30"), "line 5: bad date '2024-02-30'"),
            (row(sku="MUG"), "line 5: bad SKU 'MUG'"),
            (row(quantity="0"), "line 5: bad quantity '0'"),
            (row(unit_price="1.999"), "line 5: bad unit price '1.999'"),
        ]
        for data, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(RowError) as caught:
                    parse_row(data, 5)
                self.assertEqual(str(caught.exception), message)
                self.assertEqual(caught.exception.line, 5)


class GroupRowsTest(unittest.TestCase):
    def test_groups_and_merges(self):
        orders, errors = group_rows([
            parsed(2, quantity=2), parsed(3, "B-2002", "bob@example.org", 2, "TEA-07"),
            parsed(4, sku="TEA-07", price="4.25"), parsed(5, quantity=3),
        ])
        self.assertEqual(errors, [])
        self.assertEqual([o.order_id for o in orders], ["A-1001", "B-2002"])
        self.assertEqual(orders[0].lines, [OrderLine("MUG-01", 5, Decimal("9.50")),
                                           OrderLine("TEA-07", 1, Decimal("4.25"))])
        self.assertIsInstance(orders[0], Order)

    def test_inconsistent_rows_drop_the_order(self):
        orders, errors = group_rows([
            parsed(2), parsed(3, day=2), parsed(4, "B-2002"), parsed(6, "B-2002", price="9.99"),
            parsed(7, "C-3003"),
        ])
        self.assertEqual([o.order_id for o in orders], ["C-3003"])
        self.assertEqual([e.line for e in errors], [3, 6])
        self.assertTrue(all(isinstance(e, RowError) for e in errors))
        self.assertEqual(str(errors[1]), "line 6: MUG-01 in order B-2002 has two different prices")
        self.assertEqual(str(errors[0]),
                         "line 3: order A-1001 has another customer or date on an earlier line")


class ImportUnchangedTest(unittest.TestCase):
    def test_full_import(self):
        text = "\n".join([
            "order_id,customer,date,sku,quantity,unit_price",
            "A-1001,ann@example.com,2024-05-01,MUG-01,2,9.50",
            "A-1001,ann@example.com,2024-05-02,TEA-07,1,4.25",
            "B-2002,bob@example.org,2024-05-02,MUG-01,1,9.50",
            "B-2002,bob@example.org,2024-05-02,mug-01,4,9.50",
            "C-3003,cy,2024-05-02,MUG-01,1,9.50",
            "D-4004,dee@example.net,03/05/2024,PEN-123,10,\"0,99\"",
            "A-1001,ann@example.com,2024-05-01,PEN-123,1,0.99",
        ]) + "\n"
        report = import_orders(text)
        self.assertEqual(report.errors, [
            "line 3: order A-1001 has another customer or date on an earlier line",
            "line 6: bad customer e-mail 'cy'",
        ])
        self.assertEqual([(o.order_id, [(line.sku, line.quantity) for line in o.lines]) for o in report.orders],
                         [("B-2002", [("MUG-01", 5)]), ("D-4004", [("PEN-123", 10)])])
        self.assertEqual(report.summary(), "2 orders, 2 lines, total 57.40, 2 errors")


if __name__ == "__main__":
    unittest.main()
