import unittest

from reports import format_refund_report, format_sales_report

SALES = [
    {"date": "2024-03-01", "customer": "Acme Corporation International", "amount": 1234.5},
    {"date": "2024-03-02", "customer": "Bob", "amount": 7},
]
REFUNDS = [
    {"date": "2024-03-04", "order": "A-1002-XYZ", "reason": "Arrived broken, customer sent photos", "amount": 19.99},
    {"date": "2024-03-05", "order": "A-7", "reason": "Late", "amount": 5},
]


class PinnedOutputTest(unittest.TestCase):
    def test_sales_report(self):
        self.assertEqual(
            format_sales_report(SALES),
            "SALES REPORT\n"
            "============\n"
            "Date       Customer                 Amount\n"
            "------------------------------------------\n"
            "2024-03-01 Acme Corporation Int    1234.50\n"
            "2024-03-02 Bob                        7.00\n"
            "------------------------------------------\n"
            "TOTAL                              1241.50",
        )

    def test_refund_report(self):
        self.assertEqual(
            format_refund_report(REFUNDS),
            "REFUND REPORT\n"
            "=============\n"
            "Date       Order    Reason                       Amount\n"
            "-------------------------------------------------------\n"
            "2024-03-04 A-1002-X Arrived broken, customer      19.99\n"
            "2024-03-05 A-7      Late                           5.00\n"
            "-------------------------------------------------------\n"
            "TOTAL                                             24.99",
        )

    def test_empty_reports(self):
        self.assertTrue(format_sales_report([]).endswith("TOTAL                                 0.00"))
        self.assertTrue(format_refund_report([]).endswith("TOTAL                                              0.00"))


if __name__ == "__main__":
    unittest.main()
