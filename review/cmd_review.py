"""``tonescribe review OUTDIR [--port N] [--no-browser]``: the review screen in the browser.

Serves ``review.app`` with uvicorn on 127.0.0.1 only and prints the address with its access
token, as Jupyter does; opens the default browser on it unless ``--no-browser``.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from capture.progress import configure_logging

logger = logging.getLogger("tonescribe.review")

HOST = "127.0.0.1"
DEFAULT_PORT = 8717


def register(sub) -> None:
    parser = sub.add_parser("review", help="listen, see the prosody and correct transcripts in the browser",
                            description="Serve the review screen for the transcripts in OUTDIR on this machine only.")
    parser.add_argument("outdir", type=Path, help="the --out folder of `tonescribe process` or `watch`")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, the next free one if taken; 0: any free port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser, only print the address")
    parser.add_argument("--quiet", "-q", action="store_true", help="only warnings and errors")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging, one line per request")
    parser.set_defaults(func=run)


def bind(port: int, *, tries: int = 20) -> socket.socket:
    """A listening socket on 127.0.0.1; when ``port`` is taken, the next free one above it."""
    last: OSError | None = None
    for candidate in ([0] if port == 0 else range(port, port + tries)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, candidate))
        except OSError as exc:
            sock.close()
            last = exc
            if exc.errno != errno.EADDRINUSE:
                break
            continue
        sock.listen(128)
        return sock
    raise OSError(f"cannot listen on {HOST}:{port} ({last}); choose another with --port")


def run(args: argparse.Namespace) -> int:
    configure_logging(quiet=args.quiet, verbose=args.verbose)
    if not args.outdir.is_dir():
        print(f"tonescribe: error: {args.outdir} is not a folder; pass the --out folder of "
              f"`tonescribe process` (default ./transcripts)", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"tonescribe: error: --port {args.port} is not a port number (0-65535)", file=sys.stderr)
        return 2
    import uvicorn

    from review.app import create_app
    from review.security import new_token

    try:
        sock = bind(args.port)
    except OSError as exc:
        print(f"tonescribe: error: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    token = new_token()
    app = create_app(args.outdir, token=token, port=port)
    url = f"http://{HOST}:{port}/?token={token}"
    print(f"tonescribe review: serving {args.outdir.resolve()} on this machine only.\n"
          f"Open this address in your browser (it carries your access token):\n\n    {url}\n\n"
          f"Press Ctrl+C to stop.", flush=True)
    if not args.no_browser:
        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="debug" if args.verbose else "warning",
                                           access_log=args.verbose, server_header=False))
    server.run(sockets=[sock])
    return 0
