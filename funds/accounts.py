"""Ledger account names. A donor appears only by an opaque id; a beneficiary never does."""


def need(code: str) -> str:
    return f"need:{code}"


def fund(code: str) -> str:
    return f"fund:{code}"


def pledge(code: str) -> str:
    return f"pledge:{code}"


def donor(public_id: str) -> str:
    return f"donor:{public_id}"


def enterprise(code: str) -> str:
    return f"enterprise:{code}"


def disbursed(code: str) -> str:
    """Money that left the platform for a need (paid to the organisation or supplier)."""
    return f"disbursed:{code}"
