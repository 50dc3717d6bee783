"""A record of every operation, for the compliance team."""

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditRecord:
    operation: str
    account: str
    detail: str


class AuditLog:
    def __init__(self):
        self.records = []

    def record(self, operation, account, detail=""):
        self.records.append(AuditRecord(operation, account, detail))

    def for_account(self, account):
        return [r for r in self.records if r.account == account]
