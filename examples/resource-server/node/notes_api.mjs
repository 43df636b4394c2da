// A small API protected by gatekey: it checks every caller's credential by introspection.
//
// Run it with the introspecting application's id and secret in the environment:
//
//   AUTH_SERVER=http://127.0.0.1:8080 INTROSPECT_CLIENT_ID=app_... \
//   INTROSPECT_CLIENT_SECRET=gk_cs_... PORT=3000 node notes_api.mjs
//
// GET /notes needs the scope notes:read, POST /notes needs notes:write. The caller sends an API
// key (gk_key_...) or an OAuth access token (gk_at_...) as "Authorization: Bearer ...".
// Node 18 or newer, no packages.

import { createHash } from "node:crypto";
import { createServer } from "node:http";

const AUTH_SERVER = (process.env.AUTH_SERVER ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const CLIENT_ID = required("INTROSPECT_CLIENT_ID");
const CLIENT_SECRET = required("INTROSPECT_CLIENT_SECRET");
// How long an active answer is reused. A revoked credential keeps working here for up to this
// long, so keep it short; 0 asks gatekey on every request.
const CACHE_SECONDS = Number(process.env.CACHE_SECONDS ?? "5");
const REALM = "notes";
const ROUTES = { "GET /notes": "notes:read", "POST /notes": "notes:write" };

// RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
const form = (s) => encodeURIComponent(s).replace(/%20/g, "+");
const BASIC = "Basic " + Buffer.from(`${form(CLIENT_ID)}:${form(CLIENT_SECRET)}`).toString("base64");

class AuthServerUnavailable extends Error {}

const cache = new Map(); // sha256(token) -> { answer, until }; never the secret itself

async function introspect(token) {
  const key = createHash("sha256").update(token).digest("hex");
  const now = Date.now() / 1000;
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.answer;
  let answer;
  try {
    const response = await fetch(`${AUTH_SERVER}/oauth/introspect`, {
      method: "POST",
      headers: { Authorization: BASIC, Accept: "application/json" },
      body: new URLSearchParams({ token }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`introspection answered ${response.status}`);
    answer = await response.json();
  } catch (error) {
    throw new AuthServerUnavailable(String(error));
  }
  if (answer.active && CACHE_SECONDS > 0) {
    cache.set(key, { answer, until: Math.min(now + CACHE_SECONDS, answer.exp ?? Infinity) });
  }
  return answer;
}

// The caller's introspection answer, or null once an error has been sent (RFC 6750 §3).
async function authenticate(request, response, needed) {
  const [scheme, token] = (request.headers.authorization ?? "").split(" ", 2);
  if (scheme?.toLowerCase() !== "bearer" || !token?.trim()) {
    // §3.1: a request without credentials gets the challenge and no error code.
    reply(response, 401, { error: "unauthorized" }, `Bearer realm="${REALM}"`);
    return null;
  }
  let answer;
  try {
    answer = await introspect(token.trim());
  } catch (error) {
    if (!(error instanceof AuthServerUnavailable)) throw error;
    reply(response, 503, { error: "temporarily_unavailable" });
    return null;
  }
  if (!answer.active) {
    reply(response, 401, { error: "invalid_token" }, `Bearer realm="${REALM}", error="invalid_token"`);
    return null;
  }
  if (!(answer.scope ?? "").split(" ").includes(needed)) {
    const challenge = `Bearer realm="${REALM}", error="insufficient_scope", scope="${needed}"`;
    reply(response, 403, { error: "insufficient_scope", scope: needed }, challenge);
    return null;
  }
  return answer;
}

const notes = new Map(); // account slug -> notes

async function route(request, response) {
  const needed = ROUTES[`${request.method} ${request.url}`];
  if (!needed) return reply(response, 404, { error: "not_found" });
  const caller = await authenticate(request, response, needed);
  if (!caller) return;
  const list = notes.get(caller.account) ?? [];
  if (request.method === "GET") {
    return reply(response, 200, { notes: list, user: caller.sub, account: caller.account });
  }
  let text;
  try {
    text = JSON.parse((await readBody(request)) || "{}").text;
  } catch {
    text = undefined;
  }
  if (typeof text !== "string" || !text) {
    return reply(response, 400, { error: "invalid_request", error_description: 'send {"text": "..."}' });
  }
  const note = { text, by: caller.sub, via: caller.token_type };
  notes.set(caller.account, [...list, note]);
  return reply(response, 201, note);
}

function reply(response, status, body, challenge) {
  const headers = { "Content-Type": "application/json" };
  if (challenge) headers["WWW-Authenticate"] = challenge;
  response.writeHead(status, headers).end(JSON.stringify(body));
}

async function readBody(request) {
  let body = "";
  for await (const chunk of request) body += chunk;
  return body;
}

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`set ${name}`);
    process.exit(2);
  }
  return value;
}

const server = createServer((request, response) => {
  route(request, response).catch((error) => {
    console.error(error);
    if (!response.headersSent) reply(response, 500, { error: "server_error" });
  });
});
server.listen(Number(process.env.PORT ?? "3000"), "127.0.0.1", () => {
  console.log(`notes API listening on http://127.0.0.1:${server.address().port}`);
});
