"""All contacts, keyed by e-mail."""

from crm.emails import normalize_email


class Directory:
    def __init__(self):
        self._contacts = {}

    def __len__(self):
        return len(self._contacts)

    def add(self, contact):
        """Add a contact, merging it into an existing one with the same e-mail."""
        contact.email = normalize_email(contact.email)
        existing = self._contacts.get(contact.email)
        if existing is None:
            self._contacts[contact.email] = contact
        else:
            existing.merge(contact)
        return self._contacts[contact.email]

    def get(self, email):
        return self._contacts.get(normalize_email(email))

    def contacts(self):
        return sorted(self._contacts.values(), key=lambda c: c.email)
