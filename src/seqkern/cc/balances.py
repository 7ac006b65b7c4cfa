"""Balances per account, venue and asset, and the reservations open orders hold against them.

Amounts are integers at 10^8 (the quantity scale) for every asset. ``available`` = balance minus
reservations; that is what the router sees. Accounts: "live" (balances reported by the edges'
BALANCE frames) and "sandbox" (seeded by the CC, moved by simulated fills).
"""

from __future__ import annotations

from dataclasses import dataclass

from seqkern.cc.journal import Journal
from seqkern.errors import InsufficientBalance


@dataclass(slots=True)
class Reservation:
    order_id: str
    account: str
    venue: int
    asset: str
    amount: int


class Ledger:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.balances: dict[tuple[str, int, str], int] = {}
        self.reservations: dict[str, Reservation] = {}
        self._reserved: dict[tuple[str, int, str], int] = {}
        self._venues: set[tuple[str, int]] = set()

    def load(self) -> None:
        """Rebuild balances and reservations from the journal (startup and crash recovery)."""
        self.balances.clear()
        self.reservations.clear()
        self._reserved.clear()
        self._venues.clear()
        for acct, venue, asset, amt in self._journal.db.execute(
                "SELECT account, venue, asset, amount_1e8 FROM balances"):
            self.balances[(acct, venue, asset)] = int(amt)
            self._venues.add((acct, venue))
        for oid, acct, venue, asset, amt in self._journal.db.execute(
                "SELECT order_id, account, venue, asset, amount_1e8 FROM reservations"):
            r = Reservation(oid, acct, venue, asset, int(amt))
            self.reservations[oid] = r
            k = (acct, venue, asset)
            self._reserved[k] = self._reserved.get(k, 0) + r.amount

    # --- balances --------------------------------------------------------------------------
    def balance(self, account: str, venue: int, asset: str) -> int:
        return self.balances.get((account, venue, asset), 0)

    def reserved(self, account: str, venue: int, asset: str) -> int:
        return self._reserved.get((account, venue, asset), 0)

    def available(self, account: str, venue: int, asset: str) -> int:
        k = (account, venue, asset)
        return self.balances.get(k, 0) - self._reserved.get(k, 0)

    def knows(self, account: str, venue: int) -> bool:
        """True once any balance of this account on this venue is known (reported or seeded)."""
        return (account, venue) in self._venues

    def set_balance(self, account: str, venue: int, asset: str, amount: int) -> None:
        """Absolute balance (an edge's BALANCE frame, or sandbox seeding); journaled."""
        self.balances[(account, venue, asset)] = amount
        self._venues.add((account, venue))
        with self._journal.tx() as db:
            db.execute("INSERT INTO balances(account, venue, asset, amount_1e8) VALUES(?,?,?,?) "
                       "ON CONFLICT(account, venue, asset) DO UPDATE SET amount_1e8=excluded.amount_1e8",
                       (account, venue, asset, str(amount)))

    def adjust(self, account: str, venue: int, asset: str, delta: int) -> None:
        self.set_balance(account, venue, asset, self.balance(account, venue, asset) + delta)

    # --- reservations ----------------------------------------------------------------------
    def reserve(self, order_id: str, account: str, venue: int, asset: str, amount: int, *,
                enforce: bool = True) -> Reservation:
        if amount < 0:
            raise ValueError("a reservation cannot be negative")
        k = (account, venue, asset)
        if enforce and self.available(account, venue, asset) < amount:
            raise InsufficientBalance(
                f"{account} {asset} on venue {venue}: available {self.available(*k) / 1e8:g}, "
                f"order needs {amount / 1e8:g}")
        r = Reservation(order_id, account, venue, asset, amount)
        self.reservations[order_id] = r
        self._reserved[k] = self._reserved.get(k, 0) + amount
        with self._journal.tx() as db:
            db.execute("INSERT OR REPLACE INTO reservations(order_id, account, venue, asset, amount_1e8) "
                       "VALUES(?,?,?,?,?)", (order_id, account, venue, asset, str(amount)))
        return r

    def consume(self, order_id: str, amount: int) -> int:
        """Lower a reservation by what a fill used (never below zero); returns what was taken."""
        r = self.reservations.get(order_id)
        if r is None:
            return 0
        take = min(amount, r.amount)
        r.amount -= take
        k = (r.account, r.venue, r.asset)
        self._reserved[k] -= take
        with self._journal.tx() as db:
            db.execute("UPDATE reservations SET amount_1e8=? WHERE order_id=?", (str(r.amount), order_id))
        return take

    def release(self, order_id: str) -> int:
        """Drop what is left of a reservation (cancel, reject, expiry, full fill)."""
        r = self.reservations.pop(order_id, None)
        if r is None:
            return 0
        k = (r.account, r.venue, r.asset)
        self._reserved[k] -= r.amount
        with self._journal.tx() as db:
            db.execute("DELETE FROM reservations WHERE order_id=?", (order_id,))
        return r.amount

    def snapshot(self, account: str | None = None) -> list[dict]:
        keys = set(self.balances) | {k for k, v in self._reserved.items() if v}
        out = []
        for acct, venue, asset in sorted(keys):
            if account is not None and acct != account:
                continue
            bal = self.balances.get((acct, venue, asset), 0)
            res = self._reserved.get((acct, venue, asset), 0)
            out.append({"account": acct, "venue": venue, "asset": asset,
                        "balance_1e8": bal, "reserved_1e8": res, "available_1e8": bal - res,
                        "balance": bal / 1e8, "available": (bal - res) / 1e8})
        return out
