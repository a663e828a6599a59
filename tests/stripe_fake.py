"""A tiny local stand-in for Stripe's HTTP API and a webhook signer, for tests.

It speaks just enough of the real protocol (form-encoded bracketed params, Bearer auth,
Idempotency-Key replay, JSON errors) for `donors.stripe_gateway` through the real `stripe`
package: POST /v1/checkout/sessions and POST /v1/refunds. Ports 5090-5099 only.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

WEBHOOK_SECRET = "whsec_test_shanlian"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for this payload."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(event_type: str, obj: dict, event_id: str = "evt_1", created: int | None = None) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": event_type,
                       "created": int(time.time()) if created is None else created,
                       "data": {"object": obj}}).encode()


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """line_items[0][price_data][currency]=cny → nested dicts and lists, as Stripe reads it."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class FakeStripe:
    def __init__(self, port_range=range(5090, 5100)):
        self.requests: list[dict] = []
        self.fail_next: int | None = None  # an HTTP status to answer the next call with
        self._responses: dict[str, tuple[int, dict]] = {}
        self._count = 0
        handler = self._handler()
        for port in port_range:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port in 5090-5099 for the fake Stripe")
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, path: str, body: dict, headers) -> tuple[int, dict]:
        if not (headers.get("Authorization") or "").startswith("Bearer sk_test_"):
            return 401, {"error": {"type": "invalid_request_error", "message": "bad key"}}
        key = headers.get("Idempotency-Key")
        if key and key in self._responses:
            return self._responses[key]
        if self.fail_next:
            status, self.fail_next = self.fail_next, None
            return status, {"error": {"type": "card_error", "message": "declined",
                                      "code": "card_declined"}}
        self._count += 1
        if path == "/v1/checkout/sessions":
            sid = f"cs_test_{self._count}"
            total = int(body["line_items"][0]["price_data"]["unit_amount"])
            answer = 200, {"id": sid, "object": "checkout.session",
                           "url": f"https://checkout.stripe.test/c/pay/{sid}",
                           "amount_total": total, "currency": "cny",
                           "metadata": body.get("metadata", {}), "payment_status": "unpaid"}
        elif path == "/v1/refunds":
            amount = int(body.get("amount", 15000))
            answer = 200, {"id": f"re_test_{self._count}", "object": "refund", "amount": amount,
                           "currency": "cny", "status": "succeeded",
                           "payment_intent": body["payment_intent"],
                           "metadata": body.get("metadata", {})}
        else:
            answer = 404, {"error": {"type": "invalid_request_error", "message": "no such path"}}
        if key:
            self._responses[key] = answer
        return answer

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                body = unflatten(parse_qsl(raw, keep_blank_values=True))
                fake.requests.append({"path": self.path, "body": body,
                                      "headers": dict(self.headers.items())})
                status, answer = fake._answer(self.path, body, self.headers)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{len(fake.requests)}")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
