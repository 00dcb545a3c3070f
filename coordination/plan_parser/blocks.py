"""The markdown tree a plan is read from: blocks with line spans, sections under headings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it.token import Token

from coordination.plan_parser.text import clean_title, slugify

# --------------------------------------------------------------------------- markdown blocks


@dataclass
class Block:
    """A block of the markdown tree with its 1-based line span, from markdown-it tokens."""

    kind: str  # heading, paragraph, list, item, table, code, hr, html
    line: int
    end: int
    text: str = ""
    level: int = 0
    children: list[Block] = field(default_factory=list)
    ordered: bool = False

    @property
    def item_text(self) -> str:
        first = self.children[0] if self.children else None
        return first.text if first is not None and first.kind == "paragraph" else ""


@dataclass
class Section:
    """The blocks under one heading, and the deeper headings inside it."""

    level: int
    heading: str
    line: int
    parent: Section | None = None
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        return clean_title(self.heading)

    @property
    def track_name(self) -> str:
        """The heading without its enumerator: '1) Registry (Day 0)' -> 'Registry (Day 0)'."""
        return re.sub(r"^\d+(?:\.\d+)*[.)]\s+", "", self.title)

    @property
    def enumerator(self) -> str:
        """The number the author gave the section: '1) Registry' -> '1', 'Phase 2' -> 'phase-2'."""
        match = re.match(r"^(\d+(?:\.\d+)*)[.):]?\s", self.title)
        if match:
            return match.group(1)
        match = re.match(
            r"^(phase|step|part|stage|sprint|week|day|track|section|wave)\s+(\w+)\b",
            self.title,
            re.IGNORECASE,
        )
        return f"{match.group(1).lower()}-{match.group(2).lower()}" if match else ""

    @property
    def key_prefix(self) -> str:
        """First part of derived keys: the enumerator, else a short slug of the heading."""
        return self.enumerator or slugify(self.track_name, max_len=24)


_BLOCK_KINDS = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "list_item_open": "item",
    "table_open": "table",
}
_LEAF_KINDS = {"fence": "code", "code_block": "code", "hr": "hr", "html_block": "html"}


def build_blocks(tokens: list[Token]) -> list[Block]:
    root = Block("root", 0, 0)
    stack = [root]
    for token in tokens:
        top = stack[-1]
        if top.kind == "table":  # its cells are re-read from the raw lines
            if token.type == "table_close":
                stack.pop()
            continue
        if token.nesting == 1:
            kind = _BLOCK_KINDS.get(token.type)
            if kind is None or token.map is None:  # blockquote: keep its content in place
                stack.append(top)
                continue
            level = int(token.tag[1]) if kind == "heading" else 0
            block = Block(kind, token.map[0] + 1, token.map[1], level=level)
            block.ordered = token.type == "ordered_list_open"
            top.children.append(block)
            stack.append(block)
        elif token.nesting == -1:
            stack.pop()
        elif token.type == "inline":
            top.text = token.content
        elif token.type in _LEAF_KINDS and token.map:
            top.children.append(Block(_LEAF_KINDS[token.type], token.map[0] + 1, token.map[1]))
    return root.children


def build_sections(blocks: list[Block]) -> Section:
    root = Section(level=0, heading="", line=1)
    stack = [root]
    for block in blocks:
        if block.kind == "heading":
            while stack[-1].level >= block.level:
                stack.pop()
            section = Section(block.level, block.text, block.line, parent=stack[-1])
            stack[-1].children.append(section)
            stack.append(section)
        else:
            stack[-1].blocks.append(block)
    return root
