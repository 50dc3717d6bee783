"""Currency conversion at the bank's daily reference rates."""

from decimal import Decimal

from bank.errors import UnsupportedCurrency
from bank.rounding import to_money

# Units of each currency per 1 USD.
RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "JPY": Decimal("151.40"),
}


def rate(from_currency, to_currency, rates=RATES):
    for code in (from_currency, to_currency):
        if code not in rates:
            raise UnsupportedCurrency(code)
    return rates[to_currency] / rates[from_currency]


def convert(amount, from_currency, to_currency, rates=RATES):
    """`amount` in `from_currency` expressed in `to_currency`, rounded to cents."""
    if from_currency == to_currency:
        return amount
    return to_money(amount * rate(from_currency, to_currency, rates))
