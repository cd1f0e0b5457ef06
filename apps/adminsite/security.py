"""HTTP hardening of the admin beside piccolo_api's own: secure cookies, the login limit."""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import parse_qs

from piccolo_api.rate_limiting.middleware import RateLimitProvider
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.adminsite import selectors, services


class SecureCookiesMiddleware:
    """Marks every cookie ``Secure`` (HTTPS only).

    piccolo_api sets the session cookie ``Secure`` in production, but not the CSRF cookie;
    this covers both, and any cookie added later.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookies = headers.getlist("set-cookie")
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        secure = "secure" in cookie.lower().replace(" ", "").split(";")
                        headers.append("set-cookie", cookie if secure else f"{cookie}; Secure")
            await send(message)

        await self.app(scope, receive, send_secure)


class NoLimit(RateLimitProvider):
    """Piccolo Admin's own login limiter, switched off: :class:`LoginRateLimit` replaces it."""

    def increment(self, identifier: str) -> None:
        return None


class LoginAttempts:
    """Failed admin logins in a sliding window, per key (a client address, a username).

    A key is blocked while it has ``attempts`` failures in the last ``window`` seconds: the
    block lifts by itself as the oldest failure leaves the window. Successful logins are not
    counted. The failures are rows of ``admin_login_failures`` in PostgreSQL, so every web
    worker (``uvicorn --workers N``) and every host sees the same counts; times are wall
    clock seconds (``clock``), so the hosts' clocks should agree. A key's expired failures
    are deleted when it fails again, and every key's at most once per ``window`` per worker.
    """

    def __init__(
        self, *, attempts: int, window: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._swept_at: float | None = None

    async def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds until every key may try again (0: now)."""
        now = self.clock()
        times = await selectors.login_failure_nth_newest(
            keys=list(keys), since=now - self.window, nth=self.attempts
        )
        wait = max((at + self.window - now for at in times), default=0.0)
        return max(0, math.ceil(wait))

    async def record_failure(self, keys: Iterable[str]) -> None:
        now = self.clock()
        sweep = self._swept_at is None or now - self._swept_at >= self.window
        await services.login_failure_record(
            keys=list(keys), at=now, forget_before=now - self.window, everyone=sweep
        )
        if sweep:
            self._swept_at = now


def _networks(proxies: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(proxy, strict=False) for proxy in proxies]


def client_address(scope: Scope, trusted_proxies: Iterable[str]) -> str:
    """The client's address: the peer's, or, when the peer is a proxy named in the
    settings, the last address in ``X-Forwarded-For`` that is not such a proxy."""
    peer = (scope.get("client") or ("", 0))[0]
    networks = _networks(trusted_proxies)

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not networks or not trusted(peer):
        return str(peer)
    forwarded = Headers(scope=scope).getlist("x-forwarded-for")
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return str(peer)


class LoginRateLimit:
    """Limits failed admin logins per client and per username, and refuses inactive logins.

    Wraps ``POST <prefix>public/login/``: a blocked client or username gets HTTP 429 with
    ``Retry-After`` and a message saying when to try again (the login page shows it); a
    login whose account is deactivated fails here, like a wrong password.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        attempts: LoginAttempts,
        trusted_proxies: Iterable[str] = (),
        login_active: Callable[[str], Awaitable[bool | None]],
    ) -> None:
        self.app = app
        self.path = path
        self.attempts = attempts
        self.trusted_proxies = tuple(trusted_proxies)
        _networks(self.trusted_proxies)  # a malformed entry fails at start-up
        self.login_active = login_active

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        username = _username(body, Headers(scope=scope).get("content-type", ""))
        keys = [f"client:{client_address(scope, self.trusted_proxies)}"]
        if username:
            keys.append(f"username:{username.strip().lower()}")
        wait = await self.attempts.retry_after(keys)
        if wait:
            minutes, seconds = divmod(wait, 60)
            when = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
            response: Response = JSONResponse(
                {"detail": f"Too many failed logins. Try again in {when}.", "retry_after": wait},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
            await response(scope, receive, send)
            return
        if username and await self.login_active(username) is False:
            await self.attempts.record_failure(keys)
            await JSONResponse({"detail": "Login failed"}, status_code=401)(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                await self.attempts.record_failure(keys)
            await send(message)

        await self.app(scope, replay, watch)


def _username(body: bytes, content_type: str) -> str:
    try:
        if "application/json" in content_type:
            data = json.loads(body or b"{}")
        else:
            data = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    except ValueError:
        return ""
    username = data.get("username") if isinstance(data, dict) else None
    return username if isinstance(username, str) else ""


# Added to the admin's page (Piccolo Admin has no hook for either):
# - the login page shows the server's message on HTTP 429 (when to try again), where
#   Piccolo Admin's page only says "Problem logging in";
# - the edit and add forms disable the inputs of read-only fields (the table schema lists
#   them in ``extra.read_only_columns``, and ``extra.add_read_only_columns`` for the add
#   form): a disabled input is shown but not sent;
# - a custom form's field with choices (``apps.adminsite.pickers``) is shown as a select
#   (and keeps its text input, for a pasted id, when the list is capped: ``more_rows``).
ADMIN_PAGE_SCRIPT = """<script>
(function () {
  var open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__gatewayUrl = String(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    var xhr = this;
    if (xhr.__gatewayUrl && xhr.__gatewayUrl.indexOf("public/login/") !== -1) {
      xhr.addEventListener("loadend", function () {
        var old = document.getElementById("login-retry-notice");
        if (old) { old.remove(); }
        if (xhr.status !== 429) { return; }
        var text = "Too many failed logins. Try again later.";
        try { text = JSON.parse(xhr.responseText).detail || text; } catch (e) {}
        var notice = document.createElement("p");
        notice.id = "login-retry-notice";
        notice.setAttribute("role", "alert");
        notice.textContent = text;
        notice.style.cssText = "color:#b3261e;font-weight:bold;text-align:center;margin:1em";
        var form = document.querySelector("form");
        if (form) { form.insertBefore(notice, form.firstChild); }
        else { document.body.insertBefore(notice, document.body.firstChild); }
      });
    }
    return send.apply(this, arguments);
  };

  var readOnly = {};
  function disableReadOnly() {
    var match = location.hash.match(/^#\\/([^\\/?]+)\\/([^\\/?]+)\\/?/);
    if (!match || match[1] === "forms") { return; }
    var table = match[1], key = table + (match[2] === "add" ? "/add" : "");
    if (readOnly[key] === undefined) {
      readOnly[key] = null;
      fetch("./api/tables/" + table + "/schema/", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (schema) {
          var extra = (schema && schema.extra) || {};
          readOnly[table] = extra.read_only_columns || [];
          readOnly[table + "/add"] = extra.add_read_only_columns || [];
          disableReadOnly();
        })
        .catch(function () { delete readOnly[key]; });
      return;
    }
    (readOnly[key] || []).forEach(function (name) {
      document.querySelectorAll('form [name="' + name + '"]').forEach(function (input) {
        if (!input.disabled) {
          input.disabled = true;
          input.title = "Read only here: changed through its form or service";
        }
      });
    });
  }
  // Custom forms: a field whose schema has extra.choices (pickers and Enum fields, see
  // apps.adminsite.pickers) gets a select; the input it stands for stays, hidden, and
  // carries the chosen value, so the page's own form handling is unchanged.
  var formChoices = {};
  function addPickers() {
    var match = location.hash.match(/^#\\/forms\\/([^\\/?]+)\\/?/);
    if (!match) { return; }
    var slug = match[1];
    if (formChoices[slug] === undefined) {
      formChoices[slug] = null;
      fetch("./api/forms/" + slug + "/schema/", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (schema) {
          var found = {};
          Object.entries((schema && schema.properties) || {}).forEach(function (entry) {
            var extra = entry[1].extra || {};
            if (extra.choices) { found[entry[0]] = extra; }
          });
          formChoices[slug] = found;
          addPickers();
        })
        .catch(function () { delete formChoices[slug]; });
      return;
    }
    Object.entries(formChoices[slug] || {}).forEach(function (entry) {
      var name = entry[0], choices = entry[1].choices, more = entry[1].more_rows;
      var input = document.querySelector('form input[name="' + name + '"]');
      if (!input || input.dataset.picker) { return; }
      input.dataset.picker = "1";
      var select = document.createElement("select");
      select.dataset.pickerFor = name;
      select.add(new Option("Choose...", ""));
      Object.values(choices).forEach(function (choice) {
        select.add(new Option(choice.display_name, String(choice.value)));
      });
      select.value = input.value || "";
      select.addEventListener("change", function () {
        input.value = select.value;
        input.dispatchEvent(new Event("input", {bubbles: true}));
      });
      if (more) {
        // a big table: the list holds the newest rows; the input takes any pasted id
        input.placeholder = "or paste an id";
        input.addEventListener("input", function () {
          if (select.value !== input.value) { select.value = ""; }
        });
      } else {
        input.type = "hidden";
      }
      input.parentNode.insertBefore(select, input);
    });
  }
  new MutationObserver(function () { disableReadOnly(); addPickers(); }).observe(
    document.documentElement, {childList: true, subtree: true}
  );
})();
</script>"""
