"""Micro-batching: the sentences of concurrent requests are decoded together.

Requests `submit` lists of texts with a key (what decodes them: the mode and the `DecodeConfig`);
one task takes the oldest waiting request, lets others with the same key join it for at most
`max_wait_ms` or until `max_batch` sentences are waiting, and hands the whole batch to `decode` in
one worker thread, so the event loop never blocks and the model is only ever used by one thread.
Results go back to each request in its own order. A request is never split: one larger than
`max_batch` is decoded alone. Without micro-batching each request is decoded alone, in turn.

Pure asyncio: no model, no web framework; `decode(texts, key) -> list` (one result a text) is given.
"""
import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Deque, Hashable, List, Optional, Sequence

__all__ = ["MicroBatcher", "Busy", "Closed", "BatchStats"]


class Busy(RuntimeError):
    "More sentences are waiting than the queue holds (`max_queue`): the request is refused (503)."


class Closed(RuntimeError):
    "The batcher is shutting down and takes no new work."


@dataclass
class _Job:
    texts: Sequence[str]
    key: Hashable
    future: asyncio.Future


@dataclass
class BatchStats:
    "Counters of what was decoded: batches, requests and sentences (read by /readyz and the benchmark)."
    batches: int = 0
    requests: int = 0
    sentences: int = 0
    largest: int = 0
    sizes: List[int] = field(default_factory=list, repr=False)  # the last few batch sizes

    def add(self, jobs: int, sentences: int):
        self.batches, self.requests, self.sentences = self.batches + 1, self.requests + jobs, self.sentences + sentences
        self.largest = max(self.largest, sentences)
        self.sizes = (self.sizes + [sentences])[-100:]


class MicroBatcher:
    """Decode the texts of concurrent `submit` calls together (see the module docstring).

    decode: `decode(texts, key) -> results`, one result a text, run in one worker thread.
    max_batch: most sentences in one batch. max_wait_ms: how long the oldest request waits for
    others. enabled: False decodes every request alone. max_queue: most sentences waiting.
    """

    def __init__(self, decode: Callable[[List[str], Hashable], list], *, max_batch: int = 64,
                 max_wait_ms: float = 5.0, enabled: bool = True, max_queue: int = 8192):
        self.decode, self.max_batch, self.max_wait = decode, max_batch, max_wait_ms / 1000
        self.enabled, self.max_queue = enabled, max_queue
        self.stats = BatchStats()
        self._queue: Deque[_Job] = deque()
        self._waiting = 0                      # sentences in the queue
        self._wake: Optional[asyncio.Event] = None
        self._task: Optional[asyncio.Task] = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode")
        self._closing = False

    @property
    def waiting(self) -> int:
        "Sentences waiting to be decoded."
        return self._waiting

    @property
    def running(self) -> bool:
        "True while the batching task runs and takes work."
        return self._task is not None and not self._task.done() and not self._closing

    def start(self):
        "Start the batching task on the running event loop."
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self):
        "Take no new work, finish what is queued, then stop the task and the worker thread."
        self._closing = True
        if self._wake is not None: self._wake.set()
        if self._task is not None: await self._task
        self._pool.shutdown(wait=True)

    async def submit(self, texts: Sequence[str], key: Hashable) -> list:
        "The results of decoding `texts` with `key`, in order (raises Busy, Closed or decode's error)."
        if self._closing or self._task is None: raise Closed("the service is shutting down")
        if self._waiting + len(texts) > self.max_queue and self._waiting:
            raise Busy(f"{self._waiting} sentences are waiting (at most {self.max_queue}); retry later")
        if not texts: return []
        job = _Job(list(texts), key, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._waiting += len(job.texts)
        self._wake.set()
        return await job.future

    async def _run(self):
        "Take batches off the queue and decode them, until stopped and the queue is empty."
        loop = asyncio.get_running_loop()
        while True:
            self._drop_cancelled()
            if not self._queue:
                if self._closing: return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.enabled: await self._gather(self._queue[0].key)
            batch = self._take()
            if not batch: continue
            texts = [t for j in batch for t in j.texts]
            try:
                res = await loop.run_in_executor(self._pool, self.decode, texts, batch[0].key)
            except Exception as e:  # the decode error goes to every request of the batch
                for j in batch:
                    if not j.future.done(): j.future.set_exception(e)
                continue
            self.stats.add(len(batch), len(texts))
            pos = 0
            for j in batch:
                if not j.future.done(): j.future.set_result(res[pos:pos + len(j.texts)])
                pos += len(j.texts)

    async def _gather(self, key: Hashable):
        "Wait up to max_wait for requests of `key` to add up to max_batch sentences."
        deadline = time.monotonic() + self.max_wait
        while self._count(key) < self.max_batch and not self._closing:
            left = deadline - time.monotonic()
            if left <= 0: return
            self._wake.clear()
            try: await asyncio.wait_for(self._wake.wait(), left)
            except asyncio.TimeoutError: return

    def _count(self, key: Hashable) -> int:
        "Sentences waiting under `key`."
        return sum(len(j.texts) for j in self._queue if j.key == key and not j.future.done())

    def _take(self) -> List[_Job]:
        """The next batch: the oldest job, then (micro-batching) the later ones with its key while
        they fit in max_batch sentences; the others keep their place in the queue."""
        self._drop_cancelled()
        if not self._queue: return []
        first = self._queue.popleft()
        batch, n, keep = [first], len(first.texts), deque()
        while self.enabled and self._queue:
            j = self._queue.popleft()
            if j.future.done(): pass
            elif j.key == first.key and n + len(j.texts) <= self.max_batch:
                batch.append(j)
                n += len(j.texts)
            else: keep.append(j)
        self._queue.extendleft(reversed(keep))
        self._waiting = sum(len(j.texts) for j in self._queue)
        return batch

    def _drop_cancelled(self):
        "Forget requests that gave up (timed out or disconnected) before they were decoded."
        if any(j.future.done() for j in self._queue):
            self._queue = deque(j for j in self._queue if not j.future.done())
            self._waiting = sum(len(j.texts) for j in self._queue)
