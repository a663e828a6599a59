"""POST /stripe/webhook: Stripe's events, signature-checked (400 and nothing written
otherwise, a stale timestamp included), each acted on at most once (donors.webhooks)."""
from __future__ import annotations

import os

from flask import Blueprint, jsonify, request

from donors.stripe_gateway import StripeGateway
from donors.webhooks import handle_event
from web.db import db_session
from web.security import csrf

bp = Blueprint("stripe", __name__)


@bp.post("/stripe/webhook")
@csrf.exempt  # authenticated by Stripe's signature instead
def webhook():
    # Only the webhook secret is needed to check a signature; the API key may be unset here.
    gateway = StripeGateway(os.environ.get("STRIPE_SECRET_KEY") or "unused-for-webhooks",
                            os.environ.get("STRIPE_WEBHOOK_SECRET") or None)
    event = gateway.parse_webhook(request.get_data(), request.headers)  # WebhookRejected: 400
    outcome = handle_event(db_session(), event)
    return jsonify({"received": True, "outcome": outcome})
