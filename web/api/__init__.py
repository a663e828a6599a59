"""The JSON API: /api/v1/ (public, read-only open data), /api/v1/me/… (with a token),
/api/openapi.json, /api/docs."""
from web.api import own as _own  # noqa: F401 — registers the token routes on bp
from web.api import views as _views  # noqa: F401 — registers the routes on bp
from web.api.blueprint import bp

__all__ = ["bp"]
