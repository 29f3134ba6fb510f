"""Serving dist/ on localhost (python build.py serve, and the tests)."""
import functools
import http.server
import os
import threading

from .paths import DIST

MIME_TYPES = {'.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm',
              '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.py': 'text/plain; charset=utf-8',
              '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.zip': 'application/zip',
              '.toml': 'text/plain; charset=utf-8', '.webmanifest': 'application/manifest+json',
              '.svg': 'image/svg+xml'}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format, *args):  # quiet: one line per request is noise while training
        if os.environ.get('MICROGPT_SERVE_LOG'):
            super().log_message(format, *args)

    def end_headers(self):
        self.send_header('Cache-Control', 'no-cache')
        super().end_headers()


def make_server(directory=DIST, port=8000, host='127.0.0.1'):
    handler = functools.partial(Handler, directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_background(directory=DIST):
    """Serve a folder on a free localhost port from a daemon thread (tests, benchmarks): (server, its URL)."""
    server = make_server(directory, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f'http://{host}:{port}/'


def serve(port, directory=DIST):
    server = make_server(directory, port)
    host, port = server.server_address[:2]
    print(f'Serving {directory} at http://{host}:{port}/  (Ctrl+C to stop)', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
