"""Pages of the Soak section."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def soak_index(request: HttpRequest) -> HttpResponse:
    return render(request, "soak/index.html")
