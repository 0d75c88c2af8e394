#!/usr/bin/env python3
"""Loopback HTTP server for fluxwatch's fetch tests (feeds, GeoIP downloads, HTTP probes).

Listens on one port on every --address (127.0.0.0/8 only) and prints the port on stdout.

  /files/NAME     NAME from --root, with ETag and Last-Modified; 304 on a matching
                  If-None-Match / If-Modified-Since. Marker files change the behaviour:
                  NAME.status (a status code to answer instead), NAME.truncate (announce
                  more bytes than are sent, then close).
  /gzip/NAME      NAME with Content-Encoding: gzip (406 unless the client accepts gzip).
  /redirect/NAME  302 to /files/NAME.
  /status/CODE    that status.
  /hits?path=P    how many requests P got (plain text).
  /geoip/databases/EDITION/download?suffix=tar.gz
                  --root/EDITION.tar.gz, with HTTP basic auth --auth USER:PASSWORD (401 else).
  /  (Host same.*)  one page for every address; (Host diff.*) a page naming the address the
                  connection came to; (Host big.*) 100000 bytes.
"""
import argparse
import base64
import collections
import email.utils
import gzip
import hashlib
import os
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HITS = collections.Counter()
HITS_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "fluxwatch-test"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_body(self, code, body, headers=None, content_type="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        with HITS_LOCK:
            HITS[url.path] += 1
        root = self.server.root
        host = (self.headers.get("Host") or "").split(":")[0]
        if url.path == "/" and host.startswith("same."):
            return self.send_body(200, b"<html><body>one flux page</body></html>\n",
                                  content_type="text/html")
        if url.path == "/" and host.startswith("diff."):
            page = "<html><body>served by %s</body></html>\n" % self.connection.getsockname()[0]
            return self.send_body(200, page.encode(), content_type="text/html")
        if url.path == "/" and host.startswith("big."):
            return self.send_body(200, b"x" * 100000)
        if url.path == "/hits":
            path = urllib.parse.parse_qs(url.query).get("path", [""])[0]
            with HITS_LOCK:
                return self.send_body(200, str(HITS[path]).encode())
        if url.path.startswith("/status/"):
            return self.send_body(int(url.path[len("/status/"):]), b"status page\n")
        if url.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/files/" + url.path[len("/redirect/"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if url.path.startswith("/geoip/databases/"):
            parts = url.path.split("/")
            expected = "Basic " + base64.b64encode(self.server.auth.encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self.send_body(401, b"invalid credentials\n",
                                      {"WWW-Authenticate": 'Basic realm="test"'})
            return self.serve_file(os.path.join(root, parts[3] + ".tar.gz"), False)
        if url.path.startswith("/gzip/"):
            return self.serve_file(os.path.join(root, os.path.basename(url.path)), True)
        if url.path.startswith("/files/"):
            return self.serve_file(os.path.join(root, os.path.basename(url.path)), False)
        return self.send_body(404, b"not found\n")

    def serve_file(self, path, compress):
        if os.path.exists(path + ".status"):
            with open(path + ".status") as marker:
                return self.send_body(int(marker.read().strip()), b"scripted failure\n")
        if not os.path.exists(path):
            return self.send_body(404, b"not found\n")
        with open(path, "rb") as data_file:
            data = data_file.read()
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        modified = email.utils.formatdate(int(os.path.getmtime(path)), usegmt=True)
        if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-None-Match") is None
                and self.headers.get("If-Modified-Since") == modified):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return None
        headers = {"ETag": etag, "Last-Modified": modified}
        if compress:
            if "gzip" not in (self.headers.get("Accept-Encoding") or ""):
                return self.send_body(406, b"gzip only\n")
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        if os.path.exists(path + ".truncate"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) + 1000))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
            return None
        return self.send_body(200, data, headers)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--address", action="append", default=[])
    parser.add_argument("--auth", default="user:secret")
    parser.add_argument("--tls-cert", help="PEM with certificate and key: serve https")
    args = parser.parse_args()
    addresses = args.address or ["127.0.0.1"]
    for address in addresses:
        if not address.startswith("127."):
            sys.exit("loopback (127.0.0.0/8) addresses only: %s" % address)
    for _ in range(50):  # find one port free on every address
        servers = []
        try:
            port = 0
            for address in addresses:
                server = ThreadingHTTPServer((address, port), Handler)
                port = server.server_address[1]
                servers.append(server)
            break
        except OSError:
            for server in servers:
                server.server_close()
    else:
        sys.exit("no common free port")
    for server in servers:
        server.root = args.root
        server.auth = args.auth
        server.daemon_threads = True
        if args.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.tls_cert)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(port, flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin (or kills us)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
