"""Ends signed-in sessions that were idle too long or are older than their absolute lifetime.

Django's session cookie age is one number; an ops console wants two (idle
timeout and absolute lifetime), so the session keeps two stamps and this
middleware checks them. Requests without a session cookie (API clients with
bearer keys) cost nothing here: no session is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from accounts import services


class SessionLifetimeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.is_async:
            return self.__acall__(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            self.check(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            await sync_to_async(self.check, thread_sensitive=True)(request)
        return await self.get_response(request)

    @staticmethod
    def check(request: HttpRequest) -> None:
        session = request.session
        if SESSION_KEY not in session:
            return
        now = time.time()
        reason = services.session_expiry_reason(session=session, now=now)
        if reason is None:
            services.session_touch(session=session, now=now)
            return
        logout(request)
        request.session[services.SESSION_SIGNED_OUT_REASON] = reason
