"""Several worker processes that share one loaded engine.

uvicorn's own `--workers` starts every worker from scratch, each loading its own copy of the engine (0.85 GB each).
Here the service is loaded once, then the workers are forked from the loaded process: the engine is read-only, so
its arrays stay shared (copy-on-write) and a second worker costs little memory. A worker that dies is replaced.

The parent accepts every connection and deals them out to the workers in turn, handing each over as a file
descriptor on a Unix socket. Left to the kernel, connections land unevenly: on one shared socket the first worker
to wake accepted a whole burst of clients, and with a socket per worker (SO_REUSEPORT, which hashes each connection
to one) 16 keep-alive clients were split 11 and 5, and 9 and 7, in the two runs counted. The busier worker then
answers its clients at a slower pace than the other, and their waits set the tail latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import os
import signal
import socket
import threading
import time

import uvicorn

from api.main import create_app, load_service
from api.settings import Settings

log = logging.getLogger("api")


def serve(host: str, port: int, workers: int, log_config: dict) -> None:
    """Load, listen, fork `workers` servers and deal the connections out to them; SIGTERM or SIGINT stops them all."""
    logging.config.dictConfig(log_config)
    settings = Settings()
    if "concurrency" not in settings.model_fields_set:  # one request at a time each: the workers use the cores
        settings = settings.model_copy(update={"concurrency": 1})
    app = create_app(settings)
    load_service(app)  # in this process, before the fork: the workers start ready
    if app.state.service is None:
        raise SystemExit(1)  # the reason is logged
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=log_config)
    listening = config.bind_socket()  # uvicorn's: it logs the address, and exits with the reason if it cannot bind
    listening.listen(config.backlog)
    channels: list[socket.socket] = []  # the parent's end of each worker's hand-over socket, by slot
    children = {}  # pid -> slot
    for slot in range(workers):
        pid, channel = _fork(config, [listening, *channels])
        channels.append(channel)
        children[pid] = slot
    threading.Thread(target=_deal, args=(listening, channels), name="deal", daemon=True).start()
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while children:
        pid, status = os.wait()
        slot = children.pop(pid)
        if not stopping:  # until the new worker is up, its turns go to the others
            log.error(json.dumps({"event": "worker_exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)}))
            gone = channels[slot]
            pid, channels[slot] = _fork(config, [listening, *channels])
            children[pid] = slot
            gone.close()


def _deal(listening: socket.socket, channels: list[socket.socket]) -> None:
    """Accept connections and hand each to the next worker in turn (one that is gone passes its turn)."""
    turn = 0
    while True:
        try:
            connection, _ = listening.accept()
        except OSError as exc:  # out of descriptors, say: this client is refused, the server goes on
            log.error(json.dumps({"event": "accept_failed", "error": str(exc)}))
            time.sleep(0.1)
            continue
        with connection:  # the worker holds its own descriptor once sent
            for _ in range(len(channels)):
                channel, turn = channels[turn % len(channels)], turn + 1
                try:
                    socket.send_fds(channel, [b"c"], [connection.fileno()])
                    break
                except OSError:
                    continue


def _fork(config: uvicorn.Config, parents: list[socket.socket]) -> tuple[int, socket.socket]:
    """A worker, and the parent's end of the socket its connections are handed over on. `parents`: the parent's
    sockets, which the worker closes (so that a worker sees the parent go, and the parent a worker)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid:
        theirs.close()  # the worker's end lives in the worker alone: sending to a dead one fails at once
        return pid, ours
    code = 1
    try:
        for inherited in (*parents, ours):
            inherited.close()
        for signum in (signal.SIGTERM, signal.SIGINT):  # uvicorn installs its own once it runs
            signal.signal(signum, signal.SIG_DFL)
        _HandedConnections(config, theirs).run()
        code = 0
    finally:
        os._exit(code)  # never return into the parent's code


class _HandedConnections(uvicorn.Server):
    """A uvicorn server without a listening socket: it serves the connections whose descriptors arrive on
    `channel`, and stops when the parent is gone."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket):
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app's lifespan; no socket to listen on
        loop = asyncio.get_running_loop()
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._take, loop)

    def _protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(config=self.config, server_state=self.server_state,
                                               app_state=self.lifespan.state)

    def _take(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            message, descriptors, _, _ = socket.recv_fds(self.channel, 1, 1)
        except BlockingIOError:
            return
        if not message:  # the parent closed its end
            loop.remove_reader(self.channel.fileno())
            self.should_exit = True
            return
        for descriptor in descriptors:
            loop.create_task(loop.connect_accepted_socket(self._protocol, socket.socket(fileno=descriptor)))


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
