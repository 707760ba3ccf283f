"""Several worker processes that share one loaded engine.

uvicorn's own `--workers` starts every worker from scratch, each loading its own copy of the engine (0.85 GB each).
Here the service is loaded once, then the workers are forked from the loaded process: the engine is read-only, so
its arrays stay shared (copy-on-write) and a second worker costs little memory. A worker that dies is replaced.
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
    app = create_app(Settings())
    load_service(app)  # in this process, before the fork: the workers start ready
    if app.state.service is None:
        raise SystemExit(1)  # the reason is logged
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=log_config)
    listening = config.bind_socket()
    children = {_fork(config, listening) for _ in range(workers)}
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
        children.discard(pid)
        if not stopping:
            log.error(json.dumps({"event": "worker_exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)}))
            children.add(_fork(config, listening))


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
