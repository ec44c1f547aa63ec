"""Addresses the portal hands out or follows: links in e-mails, SMS and records are built
from the configured public address (ODR_PUBLIC_BASE_URL), never from the request's Host
header, which anyone can forge; a redirect target taken from a request is followed only
when it is a path on this site."""

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from flask import current_app, request, url_for

# A stand-in id for id_urls: digits no real id has, found once in the built URL.
_SLOT = 987654321987654321


def id_urls(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """`url_for(endpoint, key=id, **values)` for many ids of one page: the route is built
    once by url_for and each id put in its place (url_for per row is a good share of a
    list's time: the request's URL adapter, converters and defaults each call)."""
    head, found, tail = url_for(endpoint, **{key: _SLOT}, **values).partition(str(_SLOT))
    if not found:  # the id is not in the path as written: build each
        return lambda value: url_for(endpoint, **{key: value}, **values)
    return lambda value: f"{head}{value}{tail}"


# What browsers drop from a URL anywhere in it (tab, CR, LF) before they parse it.
_DROPPED = re.compile(r"[\t\r\n]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def public_url(path: str = "/") -> str:
    """The absolute address of `path` on the portal, as people reach it: the configured
    PUBLIC_BASE_URL (odr/config.py), whatever host the request that causes it came to."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/{path.lstrip('/')}"


def local_path(target) -> str | None:
    """`target` if it is a path on this site ("/consumer/cases?x=1"), else None.

    Refused: anything with a scheme or a host, protocol-relative forms ("//host", "/\\\\host")
    however they are disguised (tabs, CR/LF, backslashes, percent-encoded slashes or
    backslashes, which some browsers and proxies decode) and any other control character."""
    if not isinstance(target, str) or not target or len(target) > 2000:
        return None
    cleaned = _DROPPED.sub("", target).strip()
    if _CONTROL.search(cleaned):
        return None
    for form in (cleaned, unquote(cleaned), unquote(unquote(cleaned))):
        form = _DROPPED.sub("", form).replace("\\", "/").strip()
        if _CONTROL.search(form):
            return None
        if not form.startswith("/") or form.startswith("//"):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return cleaned


def same_site_path(url) -> str | None:
    """A URL that a request carries (its Referer) as a path on this site, or None: the
    path of an absolute address on the request's own host, or a local path."""
    if not isinstance(url, str) or not url:
        return None
    host = request.host_url
    if url.startswith(host):
        url = "/" + url[len(host) :]
    return local_path(url)
