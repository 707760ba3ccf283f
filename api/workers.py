"""Several worker processes that share one loaded engine.

uvicorn's own `--workers` starts every worker from scratch, each loading its own copy of the engine (0.85 GB each).
Here the service is loaded once, then the workers are forked from the loaded process: the engine is read-only, so
its arrays stay shared (copy-on-write) and a second worker costs little memory. A worker that dies is replaced.

Each worker listens on a socket of its own, all bound to the one port with SO_REUSEPORT, so that the kernel shares
out new connections among them. On one shared socket, the first worker to wake accepted every connection a burst of
clients opened: measured with 16 keep-alive clients and 2 workers, one worker did all the work and the other none.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import signal
import socket

import uvicorn

from api.main import create_app, load_service
from api.settings import Settings

log = logging.getLogger("api")


def serve(host: str, port: int, workers: int, log_config: dict) -> None:
    """Load, listen, fork `workers` servers on the one socket; SIGTERM or SIGINT stops them all."""
    logging.config.dictConfig(log_config)
    settings = Settings()
    if "concurrency" not in settings.model_fields_set:  # one request at a time each: the workers use the cores
        settings = settings.model_copy(update={"concurrency": 1})
    app = create_app(settings)
    load_service(app)  # in this process, before the fork: the workers start ready
    if app.state.service is None:
        raise SystemExit(1)  # the reason is logged
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=log_config)
    sockets = [_listening_socket(host, port)]
    sockets += [_listening_socket(host, sockets[0].getsockname()[1]) for _ in range(workers - 1)]  # port 0: any
    children = {_fork(config, listening): listening for listening in sockets}  # pid -> its socket
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
        listening = children.pop(pid)
        if not stopping:  # its socket stayed open here: connections the kernel gave it wait for the new worker
            log.error(json.dumps({"event": "worker_exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)}))
            children[_fork(config, listening)] = listening


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listening.bind(address)
    listening.listen(2048)
    listening.set_inheritable(True)
    return listening


def _fork(config: uvicorn.Config, listening: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):  # uvicorn installs its own once it runs
            signal.signal(signum, signal.SIG_DFL)
        uvicorn.Server(config).run(sockets=[listening])
        code = 0
    finally:
        os._exit(code)  # never return into the parent's code


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
