"""Signed webhook delivery on background worker threads, with Stripe-like retries."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import itertools
import queue
import random
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .core import Simulator
    from .store import EventRecord

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
TIMEOUT_SECONDS = 10


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload`` in Stripe's v1 scheme."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _closed_by_peer(sock: socket.socket) -> bool:
    """An idle connection with something to read has been closed by the other end (an
    HTTP server sends nothing unasked)."""
    if hasattr(select, "poll"):  # any descriptor number, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    record: EventRecord = field(compare=False)
    attempt: int = field(compare=False, default=1)


class Delivery:
    """Queue of event deliveries to the simulator's configured webhook URL."""

    def __init__(self, sim: Simulator, workers: int, retry_delays: tuple[float, ...]) -> None:
        self.sim = sim
        self.retry_delays = tuple(retry_delays)
        self.log: list[dict[str, Any]] = []
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._retries: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._outstanding = 0
        self._stopped = False
        self._local = threading.local()  # each worker's kept-alive connection
        self._threads = [
            threading.Thread(target=self._work, name=f"sim-webhook-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        self._threads.append(
            threading.Thread(target=self._schedule, name="sim-webhook-retries", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    # -- public --------------------------------------------------------------------------

    def submit(self, records: list[EventRecord]) -> None:
        faults = self.sim.faults
        records = list(records)
        if faults.shuffle_webhooks:
            random.shuffle(records)
        copies = 2 if faults.duplicate_webhooks else 1
        for record in records:
            for _ in range(copies):
                self._enqueue(_Job(time.monotonic(), next(self._seq), record))

    def flush(self, timeout: float = 10) -> bool:
        """Wait until nothing is queued, in flight or awaiting a retry."""
        with self._cond:
            return self._cond.wait_for(lambda: self._outstanding == 0, timeout)

    def pending(self) -> int:
        with self._cond:
            return self._outstanding

    def counts(self) -> dict[str, int]:
        with self._cond:
            counts: dict[str, int] = {"pending": self._outstanding}
            for entry in self.log:
                counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
            return counts

    def entries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(entry) for entry in self.log]

    def clear(self) -> None:
        """Forget the log and abandon scheduled retries (used by reset)."""
        with self._cond:
            self.log.clear()
            self._outstanding -= len(self._retries)
            self._retries.clear()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for _ in self._threads:
            self._queue.put(None)

    # -- workers -------------------------------------------------------------------------

    def _enqueue(self, job: _Job) -> None:
        with self._cond:
            self._outstanding += 1
        self._queue.put(job)

    def _finish(self) -> None:
        with self._cond:
            self._outstanding -= 1
            self._cond.notify_all()

    def _work(self) -> None:
        try:
            self._work_until_stopped()
        finally:
            if connection := getattr(self._local, "connection", None):
                connection.close()

    def _work_until_stopped(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                retry = self._attempt(job)
            except Exception as exc:  # a worker must survive anything, or flush() hangs
                self._record(job, None, f"internal error: {exc!r}", "failed")
                retry = False
            if retry:
                with self._cond:
                    delay = self.retry_delays[job.attempt - 1]
                    heapq.heappush(
                        self._retries,
                        _Job(
                            time.monotonic() + delay, next(self._seq), job.record, job.attempt + 1
                        ),
                    )
                    self._cond.notify_all()
            else:
                self._finish()

    def _schedule(self) -> None:
        with self._cond:
            while not self._stopped:
                if not self._retries:
                    self._cond.wait()
                    continue
                wait = self._retries[0].due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._queue.put(heapq.heappop(self._retries))

    def _attempt(self, job: _Job) -> bool:
        """Deliver once; True when a retry should follow."""
        url = self.sim.webhook_url
        if not url:
            self._record(job, None, "no webhook endpoint configured", "skipped")
            return False
        faults = self.sim.faults
        if faults.take("drop_webhooks"):
            self._record(job, None, "dropped by fault injection", "lost")
            return False
        if faults.take("fail_webhooks"):
            status, error = None, "failed by fault injection"
        else:
            status, error = self._post(url, job.record.json_bytes())
        if status is not None and 200 <= status < 300:
            self._record(job, status, None, "delivered")
            return False
        retry = job.attempt <= len(self.retry_delays)
        self._record(job, status, error, "retrying" if retry else "failed")
        return retry

    def _post(self, url: str, payload: bytes) -> tuple[int | None, str | None]:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": sign(payload, self.sim.webhook_secret),
        }
        connection = self._connection(parts.scheme, parts.netloc)
        reused = connection.sock is not None
        try:
            try:
                return self._exchange(connection, path, payload, headers)
            except (ConnectionResetError, BrokenPipeError):  # RemoteDisconnected is one too
                if not reused:
                    raise
                # The endpoint closed the kept-alive connection as we sent: it has read
                # nothing of this one, so it goes again on a new connection.
                connection.close()
                return self._exchange(connection, path, payload, headers)
        except OSError as exc:
            connection.close()
            return None, f"{type(exc).__name__}: {exc}"
        except BaseException:
            connection.close()
            raise

    @staticmethod
    def _exchange(
        connection: http.client.HTTPConnection, path: str, payload: bytes, headers: dict
    ) -> tuple[int, None]:
        connection.request("POST", path, body=payload, headers=headers)
        response = connection.getresponse()
        response.read()  # all of it, so the connection can carry the next delivery
        return response.status, None

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        """This worker's kept-alive connection to the endpoint (http.client reconnects when
        the endpoint answered `Connection: close`); a new one for a new endpoint, and in
        place of one the endpoint closed while it was idle."""
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None and local.endpoint != (scheme, netloc):
            connection.close()
            connection = None
        if connection is None:
            connection_class = (
                http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            )
            connection = connection_class(netloc, timeout=TIMEOUT_SECONDS)
            local.connection, local.endpoint = connection, (scheme, netloc)
        elif connection.sock is not None and _closed_by_peer(connection.sock):
            connection.close()
        return connection

    def _record(self, job: _Job, status: int | None, error: str | None, outcome: str) -> None:
        entry = {
            "event": job.record.id,
            "type": job.record.type,
            "attempt": job.attempt,
            "status": status,
            "error": error,
            "outcome": outcome,
            "at": time.time(),
        }
        with self._cond:
            self.log.append(entry)
