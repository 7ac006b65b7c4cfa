"""The journal: WAL mode, the fsync policies, group commit ordering, atomic transactions."""

from __future__ import annotations

import asyncio

import pytest

from seqkern.cc.journal import Journal
from seqkern.errors import JournalError


@pytest.mark.parametrize(("sync", "pragma"), [("full", 1), ("inline", 2), ("normal", 1)])
def test_wal_and_sync_pragmas(tmp_path, sync, pragma):
    j = Journal(str(tmp_path / "j.sqlite"), sync=sync)
    assert j.pragma("journal_mode") == "wal"
    assert j.pragma("synchronous") == pragma      # 1 = NORMAL, 2 = FULL
    j.close()


def test_unknown_policy(tmp_path):
    with pytest.raises(JournalError):
        Journal(str(tmp_path / "j.sqlite"), sync="sometimes")


def test_group_commit_orders_waiters_and_batches_fsyncs(tmp_path):
    j = Journal(str(tmp_path / "j.sqlite"), sync="full")

    async def run():
        seen = []
        for i in range(50):
            with j.tx():
                j.set_meta(f"k{i}", str(i))
            j.after_durable(lambda i=i: seen.append(i))
        await j.durable()
        assert seen == list(range(50))
        assert j.durable_seq == j.commits == 50
        assert 1 <= j.fsyncs <= 50
        # nothing pending: returns at once
        await j.durable()

    asyncio.run(run())
    j.close()


def test_rollback_keeps_nothing(tmp_path):
    j = Journal(str(tmp_path / "j.sqlite"), sync="normal")
    with pytest.raises(RuntimeError), j.tx():
        j.set_meta("a", "1")
        with j.tx():            # nested joins the outer transaction
            j.set_meta("b", "2")
        raise RuntimeError("boom")
    assert j.get_meta("a") is None and j.get_meta("b") is None
    with j.tx():
        assert j.next_counter("graph") == 1
    with j.tx():
        assert j.next_counter("graph") == 2
    j.close()
    j2 = Journal(str(tmp_path / "j.sqlite"), sync="normal")
    assert j2.get_meta("counter:graph") == "2"
    j2.close()
