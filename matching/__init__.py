"""善联 matching engine: pure functions over the instance format (``shared/matching-instance.md``).

    from matching import solve, validate, parse_instance, InstanceError
"""

from .api import EngineError, solve
from .model import Instance, InstanceError, Need, Source, parse_instance
from .validate import validate

__all__ = ["EngineError", "Instance", "InstanceError", "Need", "Source", "parse_instance", "solve", "validate"]
