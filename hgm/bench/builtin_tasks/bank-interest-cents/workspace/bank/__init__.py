"""A toy retail bank: accounts, a ledger, transfers, fees, interest and statements.

Entry point: `bank.service.Bank`.
"""
