"""The `nginx` image's entrypoint: a static file server (python -m tinykube.kubelet.staticserver).

Serves `--root` on `--port` of `--address` (the pod's IP), as nginx's default site serves
/usr/share/nginx/html. When the port cannot be bound it exits 1 with nginx's own error line,
so the container crash-loops with the reason in its log, as nginx would.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class _Handler(SimpleHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # access log on stdout, as nginx's image
        sys.stdout.write(f'{self.address_string()} - - [{self.log_date_time_string()}] {format % args}\n')
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--root", default="/usr/share/nginx/html")
    args = parser.parse_args(argv)
    try:
        server = ThreadingHTTPServer((args.address, args.port), functools.partial(_Handler, directory=args.root))
    except OSError as exc:
        print(f"nginx: [emerg] bind() to {args.address}:{args.port} failed ({exc.errno}: {exc.strerror})",
              file=sys.stderr, flush=True)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # nginx stops gracefully on SIGTERM... and on QUIT
    signal.signal(signal.SIGQUIT, lambda *_: sys.exit(0))
    print(f"start worker process serving {args.root} on port {args.port}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
