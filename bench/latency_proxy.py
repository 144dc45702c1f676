"""A loopback TCP proxy that adds round-trip latency and injects faults (no dependencies).

Why: on loopback PostgreSQL answers in ~0.1 ms, so code that makes one round trip per row, or
waits on the database on the GUI thread, looks fine on a developer's machine and stalls for
seconds at a remote site.  Putting this proxy between the app and the server reproduces a WAN
link (``rtt_ms``) and its failures (a link that hangs, connections cut, a server that refuses),
and counts what the app sends, so a benchmark or a test can say "this action takes N round
trips" instead of guessing from timings.

Usage::

    with LatencyProxy("127.0.0.1", 5432, rtt_ms=40) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
        ...                     # connect through the proxy
        proxy.statements        # PostgreSQL statements the clients sent
        proxy.round_trips       # client->server bursts (each one waited for an answer)
        proxy.stall(); proxy.resume(); proxy.drop_all(); proxy.refuse(True)

Timing model: a chunk read from either side at time *t* is written to the other side at
``t + rtt/2``, using the rtt in force when it is due (so ``set_rtt(0)`` releases held chunks at
once).  Each direction of each connection is one FIFO, so a later chunk never overtakes an
earlier one.  The proxy runs an asyncio event loop in one daemon thread; every public method may
be called from any thread and returns once the loop has applied it.

Protocol accounting (client -> server only): a connection starts with typeless packets
(``int32 length`` incl. itself, ``int32 code``).  SSLRequest (80877103) and GSSENCRequest
(80877104) are answered by the proxy itself with ``N``, one full rtt later as the server's answer
would come, and are not forwarded: the stream then stays plaintext and parsable whatever the
server's ``ssl`` setting.  The startup packet is forwarded; after it every message is ``type
byte + int32 length`` (length incl. itself, not the type byte).  ``statements`` counts ``Q``
(simple query: psycopg2 sends one per ``execute``, BEGIN/COMMIT included; a string of several
statements counts once) and ``E`` (extended-protocol Execute).  ``P`` (Parse) is not added: one
extended-protocol statement sends Parse *and* Execute, and a prepared statement executes many
times per Parse.  ``message_counts`` holds every message type, ``P`` included.  Messages split
across TCP chunks, or many in one chunk, are handled by a byte-level state machine (payloads
are skipped, never buffered).

``round_trips`` counts client->server bursts: a chunk from the client counts when it is the
connection's first, or when the proxy has delivered server data to that client since the
client's previous chunk (the client has, as far as the wire can tell, waited for an answer).
Messages pipelined without waiting count once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
STATEMENT_TYPES = ("Q", "E")
_READ_SIZE = 65536
_T = TypeVar("_T")


class FrontendCounter:
    """Follows a PostgreSQL client->server byte stream fed in arbitrary pieces.

    ``feed(data)`` returns ``(forward, reply)``: the bytes to pass on to the server, and the
    bytes the proxy answers itself (``N`` to an SSL/GSS encryption request).  Until the startup
    packet is complete its bytes are held back (an encryption request must not reach the
    server); from then on everything is forwarded as it comes and only counted.  Each message
    increments ``counts[type]`` (a shared :class:`Counter`, so one proxy sums all connections).
    """

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self.startup = True  # in the typeless packets before (and including) the startup one
        self._head = bytearray()  # the message header being assembled (8 bytes or 5 bytes)
        self._skip = 0  # payload bytes of the current message still to come
        self._held = bytearray()  # startup-phase bytes not yet known to be forwardable

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        forward = bytearray()
        reply = bytearray()
        i, n = 0, len(data)
        while i < n and self.startup:
            if len(self._head) < 8:  # assembling ``length, code``
                piece = data[i:i + 8 - len(self._head)]
                self._head += piece
                self._held += piece
                i += len(piece)
                if len(self._head) < 8:
                    break
                length, code = struct.unpack("!ii", self._head)
                if length == 8 and code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.counts["SSLRequest" if code == SSL_REQUEST else "GSSENCRequest"] += 1
                    reply += b"N"  # "no encryption": the client goes on in plaintext
                    self._head.clear()
                    self._held.clear()
                    continue
                self._skip = max(0, length - 8)
            else:  # inside the startup packet's payload
                take = min(self._skip, n - i)
                self._held += data[i:i + take]
                self._skip -= take
                i += take
            if not self._skip:  # the startup packet (or a CancelRequest) is complete
                self.counts["startup"] += 1
                forward += self._held
                self._held.clear()
                self._head.clear()
                self.startup = False
        if i < n:  # typed phase: forward the rest as is, count the messages in it
            forward += data[i:]
            self._count_typed(data, i)
        return bytes(forward), bytes(reply)

    def _count_typed(self, data: bytes, i: int) -> None:
        n = len(data)
        while i < n:
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                continue
            piece = data[i:i + 5 - len(self._head)]
            self._head += piece
            i += len(piece)
            if len(self._head) == 5:
                (length,) = struct.unpack("!i", self._head[1:5])
                self.counts[chr(self._head[0])] += 1
                self._skip = max(0, length - 4)
                self._head.clear()


@dataclass(eq=False)
class _Link:
    """One proxied connection: both sockets, its pump tasks, its protocol state."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    server_spoke: bool = True  # server data delivered since the client's last chunk
    parser: FrontendCounter | None = None
    handler: asyncio.Task[Any] | None = None  # the accept callback's task, awaited at shutdown


class LatencyProxy:
    """``127.0.0.1:<port>`` -> ``target_host:target_port`` with ``rtt_ms`` of added latency.

    Counters (``statements``, ``round_trips``, ``connections``, ``message_counts``) sum every
    connection since start or the last ``reset_counts()``.  Faults: ``stall()``/``resume()``,
    ``drop_all()``, ``refuse(True/False)``.
    """

    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int, rtt_ms: float = 0.0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self._rtt = float(rtt_ms) / 1000.0
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._stalled = False
        self._changed: asyncio.Event | None = None  # set (and replaced) when rtt or stall change
        self._counts: Counter[str] = Counter()
        self._round_trips = 0
        self._connections = 0

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> LatencyProxy:
        """Bind a free loopback port and serve from a background thread; returns self."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._changed = asyncio.Event()
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="latency-proxy", daemon=True)
        self._thread.start()
        ready.result(timeout=10)
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket, end the thread."""
        if self._thread is None or self._loop is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The loopback port clients connect to (0 before ``start()``)."""
        return self._port

    @property
    def rtt_ms(self) -> float:
        return self._rtt * 1000.0

    # -- live controls ----------------------------------------------------------------------------
    def set_rtt(self, ms: float) -> None:
        """Change the round-trip time; chunks already waiting are re-timed."""
        def apply() -> None:
            self._rtt = max(0.0, float(ms)) / 1000.0
            self._poke()

        self._apply(apply)

    def stall(self) -> None:
        """Hold all traffic both ways (connections stay open) until ``resume()``."""
        def apply() -> None:
            self._stalled = True
            self._poke()

        self._apply(apply)

    def resume(self) -> None:
        """Deliver what was held (those past due at once) and let traffic flow again."""
        def apply() -> None:
            self._stalled = False
            self._poke()

        self._apply(apply)

    def drop_all(self) -> None:
        """Reset every current connection (RST both ways); new connections are still accepted."""
        self._call(self._drop_all())

    def refuse(self, refusing: bool = True) -> None:
        """Stop listening (connects are refused by the kernel), or listen again on the same
        port.  Existing connections are unaffected."""
        self._call(self._set_refusing(refusing))

    @property
    def stalled(self) -> bool:
        return self._stalled

    @property
    def refusing(self) -> bool:
        return self._server is None and self._thread is not None

    # -- counters ---------------------------------------------------------------------------------
    @property
    def statements(self) -> int:
        """``Q`` + ``E`` messages client->server (see the module docstring)."""
        return sum(self._counts.get(t, 0) for t in STATEMENT_TYPES)

    @property
    def round_trips(self) -> int:
        """Client->server bursts, each sent after an answer arrived."""
        return self._round_trips

    @property
    def connections(self) -> int:
        """Connections accepted."""
        return self._connections

    @property
    def message_counts(self) -> dict[str, int]:
        """Client->server messages by type byte (``startup``, ``SSLRequest`` for the typeless)."""
        return dict(self._counts)

    def reset_counts(self) -> None:
        def apply() -> None:
            self._counts.clear()
            self._round_trips = 0
            self._connections = 0

        self._apply(apply)

    def snapshot(self) -> dict[str, int]:
        """The counters at this moment (for before/after differences)."""
        return {"statements": self.statements, "round_trips": self._round_trips,
                "connections": self._connections}

    # -- the event loop's side --------------------------------------------------------------------
    def _call(self, awaitable: Awaitable[_T]) -> _T:
        assert self._loop is not None, "the proxy is not started"
        if threading.current_thread() is self._thread:
            raise RuntimeError("LatencyProxy controls must not be called from its own loop")
        return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), self._loop).result(10)

    def _apply(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop and wait for it (or run it now before start)."""
        if self._loop is None:
            fn()
            return

        async def run() -> None:
            fn()

        self._call(run())

    def _poke(self) -> None:
        """Wake every waiting writer to re-check its due time and the stall flag."""
        if self._changed is not None:
            old, self._changed = self._changed, asyncio.Event()
            old.set()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port,
                                                  reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _set_refusing(self, refusing: bool) -> None:
        if refusing and self._server is not None:
            self._server.close()
            self._server = None
        elif not refusing and self._server is None:
            await self._listen()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop_all()

    async def _drop_all(self) -> None:
        links = list(self._links)
        self._links.clear()
        tasks: list[asyncio.Task[Any]] = []
        handlers = [link.handler for link in links if link.handler is not None]
        for link in links:
            for writer in (link.client, link.server):
                if writer is not None:
                    _reset(writer)
            tasks.extend(link.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *handlers, return_exceptions=True)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        link = _Link(client_w, parser=FrontendCounter(self._counts), handler=asyncio.current_task())
        self._links.add(link)
        self._connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self._links.discard(link)
            _reset(client_w)
            return
        link.server = server_w
        if link not in self._links:  # dropped while connecting
            _reset(server_w)
            return
        up: asyncio.Queue[tuple[float, int, bytes | None]] = asyncio.Queue()
        down: asyncio.Queue[tuple[float, int, bytes | None]] = asyncio.Queue()
        link.tasks = [asyncio.create_task(self._read_client(link, client_r, up, down)),
                      asyncio.create_task(self._deliver(link, up, server_w, to_client=False)),
                      asyncio.create_task(self._read_server(server_r, down)),
                      asyncio.create_task(self._deliver(link, down, client_w, to_client=True))]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        self._links.discard(link)
        for writer in (client_w, server_w):
            writer.close()

    async def _read_client(self, link: _Link, reader: asyncio.StreamReader,
                           up: asyncio.Queue[tuple[float, int, bytes | None]],
                           down: asyncio.Queue[tuple[float, int, bytes | None]]) -> None:
        assert link.parser is not None
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await reader.read(_READ_SIZE)
            except OSError:
                data = b""
            now = loop.time()
            if not data:
                up.put_nowait((now, 1, None))
                return
            if link.server_spoke:
                self._round_trips += 1
                link.server_spoke = False
            forward, reply = link.parser.feed(data)
            if forward:
                up.put_nowait((now, 1, forward))
            if reply:
                down.put_nowait((now, 2, reply))  # as if it went to the server and back

    async def _read_server(self, reader: asyncio.StreamReader,
                           down: asyncio.Queue[tuple[float, int, bytes | None]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await reader.read(_READ_SIZE)
            except OSError:
                data = b""
            down.put_nowait((loop.time(), 1, data or None))
            if not data:
                return

    async def _deliver(self, link: _Link, queue: asyncio.Queue[tuple[float, int, bytes | None]],
                       writer: asyncio.StreamWriter, to_client: bool) -> None:
        """Write each chunk when it is due (``read time + legs * rtt/2``) and not stalled."""
        loop = asyncio.get_running_loop()
        while True:
            read_at, legs, data = await queue.get()
            while True:
                changed = self._changed
                assert changed is not None
                delay = None if self._stalled else read_at + legs * self._rtt / 2 - loop.time()
                if delay is not None and delay <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), delay)
            if data is None:  # the other side closed: close this one after what came before
                with contextlib.suppress(OSError):
                    await writer.drain()
                writer.close()
                return
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                return
            if to_client:
                link.server_spoke = True


async def _as_coroutine(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close abruptly: SO_LINGER 0 makes the kernel send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# -- out of process -------------------------------------------------------------------------------
# A proxy inside the measured process shares its GIL: while the app's GUI thread or database
# worker runs Python, the proxy's thread waits for the interpreter (up to the 5 ms switch
# interval) before it forwards a byte, which adds latency exactly when the app is busy.  A
# benchmark therefore runs it in a child process (``python -m bench.latency_proxy``) and drives
# it over a pipe with :class:`ProxyProcess`; tests may use :class:`LatencyProxy` directly.

_COMMANDS: dict[str, Callable[[LatencyProxy, dict[str, Any]], Any]] = {
    "set_rtt": lambda p, a: p.set_rtt(a["ms"]),
    "stall": lambda p, _a: p.stall(),
    "resume": lambda p, _a: p.resume(),
    "drop_all": lambda p, _a: p.drop_all(),
    "refuse": lambda p, a: p.refuse(bool(a.get("refusing", True))),
    "reset_counts": lambda p, _a: p.reset_counts(),
    "counts": lambda p, _a: {**p.snapshot(), "message_counts": p.message_counts},
}


def serve(target_host: str, target_port: int, rtt_ms: float) -> int:
    """The child process: print ``{"port": N}``, then answer one JSON command per stdin line
    (``{"op": "set_rtt", "ms": 40}``...) with one JSON line; exit when stdin closes (so a parent
    that dies takes its proxy with it)."""
    import json
    import sys

    with LatencyProxy(target_host, target_port, rtt_ms) as proxy:
        print(json.dumps({"port": proxy.port}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            try:
                result = _COMMANDS[request["op"]](proxy, request)
                reply: dict[str, Any] = {"ok": True, "result": result}
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    return 0


class ProxyProcess:
    """:class:`LatencyProxy`'s interface, with the proxy running in a child process."""

    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int, rtt_ms: float = 0.0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self._rtt_ms = float(rtt_ms)
        self._proc: Any = None
        self._port = 0
        self._lock = threading.Lock()

    def start(self) -> ProxyProcess:
        import json
        import subprocess
        import sys

        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "bench.latency_proxy", "--target",
                 f"{self.target_host}:{self.target_port}", "--rtt", str(self._rtt_ms)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            first = self._proc.stdout.readline()
            if not first:
                self.stop()
                raise RuntimeError("the latency proxy process did not start")
            self._port = json.loads(first)["port"]
        return self

    def stop(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - it did not exit: end it
                proc.kill()
                proc.wait()
            proc.stdout.close()

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _ask(self, op: str, **args: Any) -> Any:
        import json

        if self._proc is None:
            raise RuntimeError("the proxy is not started")
        with self._lock:
            self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the latency proxy process ended")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(reply["error"])
        return reply["result"]

    @property
    def port(self) -> int:
        return self._port

    @property
    def rtt_ms(self) -> float:
        return self._rtt_ms

    def set_rtt(self, ms: float) -> None:
        self._ask("set_rtt", ms=ms)
        self._rtt_ms = float(ms)

    def stall(self) -> None:
        self._ask("stall")

    def resume(self) -> None:
        self._ask("resume")

    def drop_all(self) -> None:
        self._ask("drop_all")

    def refuse(self, refusing: bool = True) -> None:
        self._ask("refuse", refusing=refusing)

    def reset_counts(self) -> None:
        self._ask("reset_counts")

    def snapshot(self) -> dict[str, int]:
        """``statements``, ``round_trips``, ``connections`` (one pipe round trip, ~0.1 ms)."""
        counts = self._ask("counts")
        return {k: counts[k] for k in ("statements", "round_trips", "connections")}

    @property
    def statements(self) -> int:
        return self.snapshot()["statements"]

    @property
    def round_trips(self) -> int:
        return self.snapshot()["round_trips"]

    @property
    def connections(self) -> int:
        return self.snapshot()["connections"]

    @property
    def message_counts(self) -> dict[str, int]:
        return self._ask("counts")["message_counts"]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bench.latency_proxy",
        description="Serve a latency proxy on a free loopback port; commands on stdin (JSON).")
    parser.add_argument("--target", default="127.0.0.1:5432", help="HOST:PORT (127.0.0.1:5432)")
    parser.add_argument("--rtt", type=float, default=0.0, help="round-trip time to add, ms")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    return serve(host or "127.0.0.1", int(port), args.rtt)


if __name__ == "__main__":
    raise SystemExit(main())
