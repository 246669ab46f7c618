"""Read a GnuCash book with GnuCash's own engine and print what it computes, as JSON.

Run by Debian's Python (/usr/bin/python3), which has the `gnucash` bindings (Debian's
python3-gnucash), with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/gnucash:

    /usr/bin/python3 gnucash_engine.py sqlite3:///path/to/book.gnucash

Prints {"balances": {code: "numerator/denominator"}, "transactions": N}: the balance GnuCash
computes for every account that has a code (accounts without one by their full name),
and how many distinct transactions the book's accounts hold. Not a test module: it runs
in another Python, which cannot import the product.
"""

import json
import sys
from fractions import Fraction

from gnucash import Session, SessionOpenMode


def main(uri: str) -> None:
    session = Session(uri, SessionOpenMode.SESSION_READ_ONLY)
    try:
        root = session.book.get_root_account()
        balances, transactions = {}, set()
        for account in root.get_descendants():
            balance = account.GetBalance()
            amount = Fraction(balance.num(), balance.denom())
            name = account.GetCode() or account.get_full_name()
            balances[name] = f"{amount.numerator}/{amount.denominator}"
            for split in account.GetSplitList():
                transactions.add(split.GetParent().GetGUID().to_string())
        print(json.dumps({"balances": balances, "transactions": len(transactions)}))
    finally:
        session.end()


if __name__ == "__main__":
    main(sys.argv[1])
