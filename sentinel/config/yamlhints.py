"""What to do about the YAML mistakes carers make most, in place of PyYAML's words for them."""

from __future__ import annotations

import yaml

_MISPLACED = {
    f"expected <block end>, but found '{token}'" for token in ("<block mapping start>", "<block sequence start>", "-")
}  # not '<scalar>': that is more text after a quoted value (name: 'Mary' Smith)
INDENTATION = "check the indentation of this line and the one before: the keys of one section start in one column"


def plain(problem: str, text: str, mark: yaml.Mark | None) -> str:
    """PyYAML's ``problem`` at ``mark`` said as what to do, where it is one of the common mistakes; else as it is."""
    if mark is None:
        return problem
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    if "'\\t'" in problem:
        return _tab(line, mark)
    if problem in _MISPLACED:
        # A key indented less than its section's, or a list item more or less than its list's.
        return INDENTATION
    if problem == "mapping values are not allowed here":
        return _second_colon(line, mark) or INDENTATION
    return problem


def _tab(line: str, mark: yaml.Mark) -> str:
    """Say what to do about a tab, where PyYAML says it "cannot start any token"."""
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if "\t" in indent:
        return "a tab indents this line: use spaces (YAML does not allow tabs for indentation)"
    return f"a tab at column {mark.column + 1}: use spaces (YAML does not allow tabs there)"


def _second_colon(line: str, mark: yaml.Mark) -> str | None:
    """For ``name: Mary: Smith``, the quotes it needs; None when the ': ' is the line's first.

    A first ': ' that YAML will not take is a key indented more than its section's: read as the value above
    going on, the line cannot hold a key.
    """
    before = line[: mark.column]
    key, sep, value = before.partition(": ")
    if not sep:
        return None
    key = key.strip().removeprefix("- ").strip()
    whole = value.strip() + line[mark.column :].rstrip()
    example = f' ({key}: "{whole}")' if '"' not in whole and "#" not in whole else ""
    return f"a value containing ': ' must be put in quotes{example}"
