"""Import rows from the shop's CSV export.

Each row has `email`, `name`, `tags` (separated by `;`) and optionally
`order_id` and `amount` (in cents). Several rows may describe the same
customer (one row per order); they are merged into one contact.
"""

from crm.directory import Directory
from crm.emails import is_valid_email
from crm.models import Contact


def contact_from_row(row):
    email = row["email"].strip()
    tags = {t.strip() for t in row.get("tags", "").split(";") if t.strip()}
    orders = []
    if row.get("order_id"):
        orders.append((row["order_id"], int(row.get("amount") or 0)))
    return Contact(email=email, name=row.get("name", "").strip(), tags=tags, orders=orders)


def import_rows(rows, directory=None):
    """Add every valid row to `directory` (a new one if None); return it.

    Rows with an invalid e-mail are skipped.
    """
    directory = Directory() if directory is None else directory
    for row in rows:
        if not is_valid_email(row.get("email", "")):
            continue
        directory.add(contact_from_row(row))
    return directory
