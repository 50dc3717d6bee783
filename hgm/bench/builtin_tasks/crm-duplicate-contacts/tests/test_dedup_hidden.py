import unittest

from crm.directory import Directory
from crm.emails import normalize_email
from crm.importer import import_rows
from crm.models import Contact
from crm.stats import customer_count, customers_with_tag, revenue_by_customer

ROWS = [
    {"email": "Ann@Example.com", "name": "Ann", "tags": "vip", "order_id": "1", "amount": "1000"},
    {"email": " ann@example.COM ", "name": "", "tags": "newsletter", "order_id": "2", "amount": "250"},
    {"email": "ANN@EXAMPLE.COM", "name": "Ann L.", "tags": "", "order_id": "3", "amount": "5"},
    {"email": "bob@example.org", "name": "Bob", "tags": "newsletter", "order_id": "4", "amount": "300"},
]


class NormalizeTest(unittest.TestCase):
    def test_lowercases_whole_address_and_trims(self):
        self.assertEqual(normalize_email("  Ann.Lee@Example.COM\t"), "ann.lee@example.com")

    def test_already_normal_unchanged(self):
        self.assertEqual(normalize_email("x@y.io"), "x@y.io")


class ImportDedupTest(unittest.TestCase):
    def setUp(self):
        self.directory = import_rows(ROWS)

    def test_variants_become_one_customer(self):
        self.assertEqual(customer_count(self.directory), 2)

    def test_stored_email_is_normalised(self):
        self.assertEqual(
            [c.email for c in self.directory.contacts()], ["ann@example.com", "bob@example.org"]
        )

    def test_orders_and_tags_merged(self):
        ann = self.directory.get("ann@example.com")
        self.assertEqual([o[0] for o in ann.orders], ["1", "2", "3"])
        self.assertEqual(ann.tags, {"vip", "newsletter"})
        self.assertEqual(ann.name, "Ann")

    def test_lookup_with_any_spelling(self):
        for query in ("ANN@example.com", " Ann@Example.Com "):
            with self.subTest(query=query):
                self.assertIsNotNone(self.directory.get(query))

    def test_revenue_and_tags_by_customer(self):
        self.assertEqual(
            revenue_by_customer(self.directory), {"ann@example.com": 1255, "bob@example.org": 300}
        )
        self.assertEqual(
            customers_with_tag(self.directory, "newsletter"), ["ann@example.com", "bob@example.org"]
        )

    def test_import_into_existing_directory_merges(self):
        directory = import_rows([ROWS[0]])
        import_rows([{"email": "ANN@example.com ", "name": "", "tags": "late"}], directory)
        self.assertEqual(len(directory), 1)
        self.assertEqual(directory.get("ann@example.com").tags, {"vip", "late"})


class DirectoryTest(unittest.TestCase):
    def test_add_merges_contacts_differing_in_case(self):
        directory = Directory()
        directory.add(Contact("Zed@Mail.com", "Zed"))
        directory.add(Contact("zed@mail.com ", "", {"x"}))
        self.assertEqual(len(directory), 1)
        self.assertEqual(directory.contacts()[0].email, "zed@mail.com")


if __name__ == "__main__":
    unittest.main()
