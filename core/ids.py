"""Opaque public identifiers."""
import secrets


def opaque_id(nbytes: int = 5) -> str:
    """A random lowercase hex id: safe to publish, reveals nothing about a person."""
    return secrets.token_hex(nbytes)
