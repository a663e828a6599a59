"""``python -m matching solve INSTANCE.json [-o RESULT.json] [--explain] [--time-limit S]``.

Exit status: 0 ok, 2 malformed input (message on stderr), 1 the result failed validation.
"""

from __future__ import annotations

import argparse
import json
import sys

from .api import EngineError, solve
from .model import InstanceError, parse_instance
from .validate import validate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m matching", description="善联 matching engine")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("solve", help="allocate an instance file")
    sp.add_argument("instance", help="instance JSON file ('-' for stdin)")
    sp.add_argument("-o", "--output", help="result JSON file (default: stdout)")
    sp.add_argument("--explain", action="store_true", help="add 'why' to every allocation")
    sp.add_argument("--time-limit", type=float, default=None, metavar="S",
                    help="stop refining after S seconds (parsing and the first flow always complete)")
    vp = sub.add_parser("validate", help="check a result against an instance")
    vp.add_argument("instance")
    vp.add_argument("result")
    args = ap.parse_args(argv)

    try:
        raw = _load(args.instance, "instance")
        inst = parse_instance(raw)
    except InstanceError as e:
        print(f"error: {args.instance}: {e}", file=sys.stderr)
        return 2
    if args.cmd == "validate":
        try:
            result = _load(args.result, "result")
        except InstanceError as e:
            print(f"error: {args.result}: {e}", file=sys.stderr)
            return 2
        problems = validate(inst, result)
        for p in problems:
            print(p)
        return 1 if problems else 0

    if args.time_limit is not None and args.time_limit <= 0:
        print("error: --time-limit must be positive", file=sys.stderr)
        return 2
    try:
        result = solve(inst, time_limit=args.time_limit, explain=args.explain)  # validated
    except EngineError as e:
        print(f"invalid result, nothing written: {e}", file=sys.stderr)
        return 1
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def _load(path: str, what: str):
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise InstanceError(f"cannot read {what}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise InstanceError(f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except UnicodeDecodeError:
        raise InstanceError("not UTF-8 text") from None
