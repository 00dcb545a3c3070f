"""Read a rendered HTML form back into POST data, as a browser would submit it."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = form_id is None
        self.data: dict[str, list[str]] = {}
        self.select: str | None = None
        self.select_multiple = False
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form_id is not None:
            self.inside = attr.get("id") == self.form_id
        if not self.inside:
            return
        name = attr.get("name")
        if tag == "input" and name:
            kind = attr.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(attr.get("value", default))
        elif tag == "select" and name:
            self.select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self.select and "selected" in attr:
            self.data[self.select].append(attr.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.data.setdefault(self.textarea, []).append("".join(self.text).lstrip("\n"))
            self.textarea = None
        elif tag == "form" and self.form_id is not None:
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text.append(data)


def form_data(html: str, form_id: str | None = None) -> dict[str, list[str]]:
    """Every field of the form (the first form with ``form_id``, or all of the page)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.data
