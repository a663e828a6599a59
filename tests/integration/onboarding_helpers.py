"""Building onboarding applications in tests."""
from __future__ import annotations

import io
import random

from core.identifiers import generate_uscc

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def uscc(seed: int = 1) -> str:
    return generate_uscc(random.Random(seed))


def form(name="滨州市阳光助学服务中心", kind="organisation", code=None, certificate=PDF,
         filename="certificate.pdf", **changes) -> dict:
    data = {"kind": kind, "name": name, "region": "山东省/滨州市/滨城区",
            "uscc": code or uscc(), "contact_name": "李主任", "contact_phone": "0543-1234567",
            "contact_email": "contact@yangguang.example",
            "certificate": (io.BytesIO(certificate), filename)}
    data.update(changes)
    return data
