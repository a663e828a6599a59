"""``python -m matching solve INSTANCE.json [-o RESULT.json] [--explain] [--time-limit S]``.

Exit status: 0 ok, 2 malformed input (message on stderr), 1 the result failed validation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import orjson

from .api import EngineError, solve
from .model import InstanceError, load_instance, load_json
from .validate import validate


def process_started() -> float:
    """This process's start as a ``time.perf_counter()`` instant, so that ``--time-limit``
    counts interpreter start-up and imports too (Linux: /proc; elsewhere: now)."""
    now = time.perf_counter()
    try:
        with open("/proc/self/stat", "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - max(0.0, min(age, 60.0))


def main(argv: list[str] | None = None) -> int:
    started = process_started()
    ap = argparse.ArgumentParser(prog="python -m matching", description="善联 matching engine")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("solve", help="allocate an instance file")
    sp.add_argument("instance", help="instance JSON file ('-' for stdin)")
    sp.add_argument("-o", "--output", help="result JSON file (default: stdout)")
    sp.add_argument("--explain", action="store_true", help="add 'why' to every allocation")
    sp.add_argument("--time-limit", type=float, default=None, metavar="S",
                    help="return the best valid result found within S seconds of the process "
                         "start (at least the time parsing takes)")
    vp = sub.add_parser("validate", help="check a result against an instance")
    vp.add_argument("instance")
    vp.add_argument("result")
    args = ap.parse_args(argv)

    try:
        inst = load_instance(_read(args.instance, "instance"))
    except InstanceError as e:
        print(f"error: {args.instance}: {e}", file=sys.stderr)
        return 2
    if args.cmd == "validate":
        try:
            result = load_json(_read(args.result, "result"))
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
        result = solve(inst, time_limit=args.time_limit, explain=args.explain,
                       started=started, started_cpu=0.0)  # validated
    except EngineError as e:
        print(f"invalid result, nothing written: {e}", file=sys.stderr)
        return 1
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    if args.output:
        with open(args.output, "wb") as f:
            f.write(text)
    else:
        sys.stdout.buffer.write(text)
    return 0


def _read(path: str, what: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InstanceError(f"cannot read {what}: {e.strerror}") from None
