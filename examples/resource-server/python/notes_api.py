#!/usr/bin/env python3
"""A small API protected by gatekey: it checks every caller's credential by introspection.

Run it with the introspecting application's id and secret in the environment:

    AUTH_SERVER=http://127.0.0.1:8080 INTROSPECT_CLIENT_ID=app_... \
    INTROSPECT_CLIENT_SECRET=gk_cs_... PORT=3000 python3 notes_api.py

GET /notes needs the scope notes:read, POST /notes needs notes:write. The caller sends an API key
(gk_key_...) or an OAuth access token (gk_at_...) as "Authorization: Bearer ...".
Python's standard library only.
"""

import base64
import hashlib
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTH_SERVER = os.environ.get("AUTH_SERVER", "http://127.0.0.1:8080").rstrip("/")
CLIENT_ID = os.environ["INTROSPECT_CLIENT_ID"]
CLIENT_SECRET = os.environ["INTROSPECT_CLIENT_SECRET"]
# How long an active answer is reused. A revoked credential keeps working here for up to this
# long, so keep it short; 0 asks gatekey on every request.
CACHE_SECONDS = float(os.environ.get("CACHE_SECONDS", "5"))
REALM = "notes"


class AuthServerUnavailable(Exception):
    """gatekey could not answer: the API says 503, never 401."""


class Introspector:
    """Asks gatekey's /oauth/introspect (RFC 7662) and caches active answers briefly."""

    def __init__(self):
        # RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
        pair = f"{urllib.parse.quote_plus(CLIENT_ID)}:{urllib.parse.quote_plus(CLIENT_SECRET)}"
        self.authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        self.cache = {}  # sha256(token) -> (answer, reuse until)
        self.lock = threading.Lock()

    def check(self, token):
        key = hashlib.sha256(token.encode()).hexdigest()  # never keep the secret itself
        now = time.time()
        with self.lock:
            hit = self.cache.get(key)
            if hit and hit[1] > now:
                return hit[0]
        answer = self.ask(token)
        if answer.get("active") and CACHE_SECONDS > 0:
            until = min(now + CACHE_SECONDS, answer.get("exp", now + CACHE_SECONDS))
            with self.lock:
                self.cache[key] = (answer, until)
        return answer

    def ask(self, token):
        request = urllib.request.Request(
            AUTH_SERVER + "/oauth/introspect",
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={
                "Authorization": self.authorization,
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise AuthServerUnavailable(str(error)) from error


INTROSPECTOR = None
NOTES = {}  # account slug -> list of notes
NOTES_LOCK = threading.Lock()
ROUTES = {("GET", "/notes"): "notes:read", ("POST", "/notes"): "notes:write"}


class NotesHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        needed = ROUTES.get((self.command, self.path))
        if needed is None:
            return self.reply(404, {"error": "not_found"})
        caller = self.authenticate(needed)
        if caller is None:
            return
        account = caller["account"]
        if self.command == "GET":
            with NOTES_LOCK:
                notes = list(NOTES.get(account, []))
            return self.reply(200, {"notes": notes, "user": caller["sub"], "account": account})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            text = json.loads(self.rfile.read(length) or b"{}").get("text")
        except (ValueError, AttributeError):
            text = None
        if not isinstance(text, str) or not text:
            return self.reply(400, {"error": "invalid_request", "error_description": "send {\"text\": \"...\"}"})
        note = {"text": text, "by": caller["sub"], "via": caller["token_type"]}
        with NOTES_LOCK:
            NOTES.setdefault(account, []).append(note)
        return self.reply(201, note)

    def authenticate(self, needed):
        """The caller's introspection answer, or None once an error has been sent (RFC 6750 §3)."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            # §3.1: a request without credentials gets the challenge and no error code.
            self.reply(401, {"error": "unauthorized"}, f'Bearer realm="{REALM}"')
            return None
        try:
            answer = INTROSPECTOR.check(token.strip())
        except AuthServerUnavailable:
            self.reply(503, {"error": "temporarily_unavailable"})
            return None
        if not answer.get("active"):
            self.reply(401, {"error": "invalid_token"}, f'Bearer realm="{REALM}", error="invalid_token"')
            return None
        if needed not in answer.get("scope", "").split():
            challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{needed}"'
            self.reply(403, {"error": "insufficient_scope", "scope": needed}, challenge)
            return None
        return answer

    def reply(self, status, body, challenge=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # keep credentials out of logs: the default logs request lines only, but be sure


def main():
    global INTROSPECTOR
    INTROSPECTOR = Introspector()
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), NotesHandler)
    print(f"notes API listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
