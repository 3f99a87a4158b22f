"""`lakehouse trades` and `lakehouse serve`: one client's transactions, on the command line and over HTTP."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from core.errors import LakehouseError
from core.lake import Lake
from pipelines.cli_output import print_relation
from pipelines.cli_types import date, port, positive_int

TOKEN_ENV = "LAKEHOUSE_API_TOKEN"


def add_trades_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    trades = commands.add_parser(
        "trades",
        parents=[common],
        help="one client's transactions",
        description="Print a client's transactions from gold_trades.transactions, oldest first; --from and --to "
        "are inclusive (--to up to the end of its day).",
    )
    trades.add_argument("client_id", metavar="CLIENT_ID", help="e.g. 00003039 (see gold_trades.clients)")
    trades.add_argument("--from", dest="start", type=date, metavar="YYYY-MM-DD", help="first day (default: the first)")
    trades.add_argument(
        "--to", dest="end", type=date, metavar="YYYY-MM-DD", help="last day, all of it (default: the last)"
    )
    trades.add_argument("--format", choices=["table", "csv", "json"], default="table")
    trades.set_defaults(handler=_trades)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="serve the transactions API over HTTP",
        description=f"Serve GET /transactions/<client_id>?start_date=&end_date= (the neotransact API). Callers "
        f"send `Authorization: Bearer <token>`, the token being ${TOKEN_ENV}. Needs the optional dependencies: "
        "pip install -e '.[api]'.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--rate-limit",
        type=positive_int,
        default=120,
        metavar="N",
        help="requests a minute per caller address (default 120)",
    )
    serve.set_defaults(handler=_serve)


def _trades(args: argparse.Namespace) -> int:
    from pipelines.trades_api.query import client_transactions, open_catalog

    con = open_catalog(Lake.locate(getattr(args, "data_dir", None)))
    try:
        print_relation(client_transactions(con, args.client_id, args.start, args.end), args.format)
    finally:
        con.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise LakehouseError(f"set {TOKEN_ENV} to the token callers must send (Authorization: Bearer <token>)")
    if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
        raise LakehouseError("the API needs its optional dependencies: pip install -e '.[api]'")
    import uvicorn

    from pipelines.trades_api.server import create_app

    app = create_app(Lake.locate(getattr(args, "data_dir", None)), token, args.rate_limit)
    print(f"lakehouse: serving GET http://{args.host}:{args.port}/transactions/<client_id>", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
