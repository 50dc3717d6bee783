import unittest

from crm.importer import import_rows
from crm.stats import customer_count, revenue_by_customer


class CrmTest(unittest.TestCase):
    def test_rows_for_same_customer_merge(self):
        rows = [
            {"email": "bob@example.com", "name": "Bob", "tags": "vip", "order_id": "1", "amount": "500"},
            {"email": "bob@example.com", "name": "", "tags": "newsletter", "order_id": "2", "amount": "250"},
        ]
        directory = import_rows(rows)
        self.assertEqual(customer_count(directory), 1)
        self.assertEqual(revenue_by_customer(directory), {"bob@example.com": 750})

    def test_invalid_email_skipped(self):
        self.assertEqual(len(import_rows([{"email": "nope", "name": "X"}])), 0)


if __name__ == "__main__":
    unittest.main()
