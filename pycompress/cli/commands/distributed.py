"""CLI: `explore-report` (the result of a shared study, from its storage alone) and `pgserver`."""
from __future__ import annotations

import argparse
import json


def cmd_explore_report(args: argparse.Namespace) -> int:
    from pycompress.sharing.explore_storage import rebuild, rebuilt_dict, rebuilt_text

    r = rebuild(args.storage, args.study_name, args.heartbeat)
    print(json.dumps(rebuilt_dict(r), indent=2) if args.json else rebuilt_text(r))
    return 0


def register(sub) -> None:
    from pycompress.sharing.pgserver import add_parser

    p = sub.add_parser("explore-report", help="Pareto front and chosen configuration of a (shared) explore study, "
                                              "rebuilt from its storage alone")
    p.add_argument("--storage", required=True, help="Optuna storage URL, e.g. postgresql://user:pass@host/db")
    p.add_argument("--study-name", required=True, help="the study (printed by pycompress explore)")
    p.add_argument("--heartbeat", type=int, default=30,
                   help="running trials without a heartbeat for 3x this many seconds are marked failed (default 30)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_explore_report)
    add_parser(sub)
