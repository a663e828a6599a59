"""One structured log line per request (method, path, status, milliseconds). The path is a
field of a JSON object, so whatever it contains cannot start a line of its own."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

log = logging.getLogger("shanlian.request")


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_clock():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
        return response
