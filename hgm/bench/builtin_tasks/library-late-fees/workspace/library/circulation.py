"""Borrowing and returning books."""

from library import policy
from library.branches import get_branch
from library.catalog import Catalog
from library.dates import add_days, local_date
from library.errors import LoanLimitReached, UnknownItem
from library.fines import fine_for
from library.loans import Loan
from library.members import Members


class Circulation:
    def __init__(self, catalog=None, members=None):
        self.catalog = catalog or Catalog()
        self.members = members or Members()
        self.loans = {}

    def checkout(self, member_id, isbn, branch_code, timestamp):
        """Lend a copy of `isbn` at `branch_code` at time `timestamp`; return the Loan."""
        member = self.members.get(member_id)
        branch = get_branch(branch_code)
        if sum(1 for loan_id in member.loans if self.loans[loan_id].open) >= policy.MAX_LOANS:
            raise LoanLimitReached(member_id)
        self.catalog.take(branch.code, isbn)
        today = local_date(timestamp, branch.utc_offset_hours)
        loan = Loan(len(self.loans) + 1, isbn, member_id, branch.code, today,
                    add_days(today, policy.LOAN_DAYS))
        self.loans[loan.id] = loan
        member.loans.append(loan.id)
        return loan

    def return_book(self, loan_id, timestamp):
        """Close a loan at time `timestamp`; charge and return the fine (maybe 0.00)."""
        try:
            loan = self.loans[loan_id]
        except KeyError:
            raise UnknownItem(f"loan {loan_id}") from None
        branch = get_branch(loan.branch)
        loan.returned_on = local_date(timestamp, branch.utc_offset_hours)
        loan.fine = fine_for(loan.due_on, loan.returned_on)
        self.members.get(loan.member_id).balance_due += loan.fine
        self.catalog.put_back(branch.code, loan.isbn)
        return loan.fine
