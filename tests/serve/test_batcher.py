"""The micro-batching queue on a stand-in decode function (no model): batching, order, limits, stop."""
import asyncio
import threading
import time

import pytest

from seq2seq.serve.batcher import Busy, Closed, MicroBatcher


class Recorder:
    "A decode function that records each batch, upper-cases its texts and takes `secs` in its thread."

    def __init__(self, secs: float = 0.0, fail: bool = False):
        self.calls, self.threads, self.secs, self.fail = [], set(), secs, fail

    def __call__(self, texts, key):
        self.calls.append((list(texts), key))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.secs)
        if self.fail: raise ValueError("decode failed")
        return [f"{key}:{t.upper()}" for t in texts]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def _with(batcher, work):
    batcher.start()
    try: return await work(batcher)
    finally: await batcher.stop()


def test_concurrent_requests_are_decoded_together_and_answered_in_order():
    rec = Recorder()

    async def work(b):
        return await asyncio.gather(*(b.submit([f"a{i}", f"b{i}"], "k") for i in range(5)))

    res = run(_with(MicroBatcher(rec, max_batch=64, max_wait_ms=200), work))
    assert res == [[f"k:A{i}", f"k:B{i}"] for i in range(5)]
    assert len(rec.calls) == 1 and len(rec.calls[0][0]) == 10
    assert rec.threads == {"decode_0"}  # one worker thread, never the event loop's


def test_without_micro_batching_each_request_is_decoded_alone():
    rec = Recorder()

    async def work(b):
        return await asyncio.gather(*(b.submit([f"t{i}"], "k") for i in range(4)))

    res = run(_with(MicroBatcher(rec, enabled=False, max_wait_ms=200), work))
    assert res == [[f"k:T{i}"] for i in range(4)]
    assert [len(t) for t, _ in rec.calls] == [1, 1, 1, 1]


def test_batches_hold_at_most_max_batch_sentences_and_never_split_a_request():
    rec = Recorder()

    async def work(b):
        return await asyncio.gather(b.submit(["x"] * 7, "k"), b.submit(["y"] * 2, "k"), b.submit(["z"] * 2, "k"))

    res = run(_with(MicroBatcher(rec, max_batch=4, max_wait_ms=100), work))
    assert [len(r) for r in res] == [7, 2, 2]
    assert [len(t) for t, _ in rec.calls] == [7, 4]   # the big request alone, the two small ones together


def test_requests_with_different_keys_are_not_mixed():
    rec = Recorder()

    async def work(b):
        return await asyncio.gather(b.submit(["a"], "greedy"), b.submit(["b"], "beam"), b.submit(["c"], "greedy"))

    res = run(_with(MicroBatcher(rec, max_wait_ms=100), work))
    assert res == [["greedy:A"], ["beam:B"], ["greedy:C"]]
    assert sorted((k, len(t)) for t, k in rec.calls) == [("beam", 1), ("greedy", 2)]


def test_the_event_loop_keeps_running_while_a_batch_decodes():
    rec, ticks = Recorder(secs=0.3), []

    async def work(b):
        job = asyncio.ensure_future(b.submit(["a"], "k"))
        t0 = time.monotonic()
        while not job.done():
            ticks.append(time.monotonic() - t0)
            await asyncio.sleep(0.01)
        return await job

    assert run(_with(MicroBatcher(rec, max_wait_ms=0), work)) == ["k:A"]
    assert len(ticks) > 10  # the loop ticked through the 0.3 s decode


def test_a_request_that_gave_up_is_not_decoded():
    rec = Recorder(secs=0.2)

    async def work(b):
        first = asyncio.ensure_future(b.submit(["busy"], "k"))
        await asyncio.sleep(0.05)   # the first batch is decoding now
        gone = asyncio.ensure_future(b.submit(["gone"], "k"))
        await asyncio.sleep(0.01)
        gone.cancel()               # e.g. its request timed out
        kept = await b.submit(["kept"], "k")
        return await first, kept

    assert run(_with(MicroBatcher(rec, max_wait_ms=0), work)) == (["k:BUSY"], ["k:KEPT"])
    assert all("gone" not in t for t, _ in rec.calls)


def test_a_full_queue_refuses_with_busy():
    rec = Recorder(secs=0.2)

    async def work(b):
        first = asyncio.ensure_future(b.submit(["a"], "k"))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(b.submit(["b", "c", "d"], "k"))
        await asyncio.sleep(0.01)
        with pytest.raises(Busy, match="at most 4"):
            await b.submit(["e", "f"], "k")
        return await first, await second

    assert run(_with(MicroBatcher(rec, max_queue=4, max_wait_ms=0), work)) == (["k:A"], ["k:B", "k:C", "k:D"])


def test_a_decode_error_reaches_every_request_of_its_batch():
    async def work(b):
        return await asyncio.gather(b.submit(["a"], "k"), b.submit(["b"], "k"), return_exceptions=True)

    res = run(_with(MicroBatcher(Recorder(fail=True), max_wait_ms=100), work))
    assert [type(r) for r in res] == [ValueError, ValueError]


def test_stop_finishes_queued_work_then_refuses_new():
    rec = Recorder(secs=0.05)

    async def main():
        b = MicroBatcher(rec, max_batch=1, max_wait_ms=0)
        b.start()
        jobs = [asyncio.ensure_future(b.submit([f"t{i}"], "k")) for i in range(3)]
        await asyncio.sleep(0)
        await b.stop()
        with pytest.raises(Closed):
            await b.submit(["late"], "k")
        return [j.result() for j in jobs], b.stats

    res, stats = run(main())
    assert res == [["k:T0"], ["k:T1"], ["k:T2"]]
    assert (stats.batches, stats.requests, stats.sentences) == (3, 3, 3)
