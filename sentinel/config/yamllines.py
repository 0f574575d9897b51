"""Load YAML while remembering the line of every key and list item.

A config file is a few kB written by a carer, so anything far bigger, deeper or
alias-heavier is refused before it is built: a "billion laughs" file of 500
bytes would otherwise expand to hundreds of millions of values on a 512 MB Pi.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
"""Largest agent config read (a full one is under 10 kB)."""
MAX_CIRCLE_BYTES = 16 * 1024 * 1024
"""Largest notifier config read: one notifier may serve a town (10,000 homes take about 2 MB)."""
MAX_ALIAS_VALUES = 10_000
"""Most values (mappings, lists and scalars) that aliases may add to what the file spells out."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (a config needs fewer than 10 levels)."""


class LineDict(dict):
    """A mapping that knows the 1-based line of each key."""

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.lines: dict[str, int] = {}
        self.texts: dict[Any, str] = {}  # key -> source text of a value YAML read as a number, bool, date or null


class LineList(list):
    """A sequence that knows the 1-based line of each item."""

    def __init__(self, *args: Any, line: int = 0) -> None:
        super().__init__(*args)
        self.line = line
        self.lines: list[int] = []
        self.texts: dict[int, str] = {}  # index -> source text, as ``LineDict.texts``


class Refused(yaml.MarkedYAMLError):
    """YAML that is no syntax error, but that a config does not take: a list as a key, a merge key."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class TooBig(Refused):
    """The text is refused before it is built: too large, too deep or too many values through aliases."""


_MERGE = "tag:yaml.org,2002:merge"
# The tags YAML gives a plain scalar it reads as other than text: their source text is kept (``typed_text``).
_TYPED = frozenset(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null", "timestamp"))


def _check_key(node: yaml.Node) -> None:
    """A key is a plain name: a list or mapping cannot be one (nor be looked up), and '<<' merges are not read."""
    if not isinstance(node, yaml.ScalarNode):
        raise Refused("a key must be a plain name, not a list or a mapping", node.start_mark)
    if node.tag == _MERGE:
        # PyYAML could merge, but the merged keys would name the anchor's lines, and silently override.
        raise Refused("merge keys (<<) are not supported: write the keys out", node.start_mark)


def _keep_text(texts: dict, index: Any, node: yaml.Node) -> None:
    """Remember what was typed for a value YAML reads as a number, true/false, a date or null."""
    if isinstance(node, yaml.ScalarNode) and node.tag in _TYPED:
        texts[index] = node.value


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds LineDict/LineList, rejects duplicate keys and caps what aliases expand to."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._values = 0  # values so far, each alias counted as everything it stands for
        self._aliased = 0  # of which added by aliases: what is spelt out is bounded by the file's size
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            anchored = self.anchors.get(event.anchor)
            # An alias to a node still being composed (a recursive one) counts as 1; building it fails later.
            self._count(self._sizes.get(id(anchored), 1), event.start_mark, f"*{event.anchor}")
            return super().compose_node(parent, index)
        start = self.peek_event().start_mark
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise TooBig(f"nested more than {MAX_DEPTH} levels deep: this is not a sentinel config", start)
        before = self._values
        self._count(1, start, "")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = self._values - before
        return node

    def _count(self, values: int, mark: yaml.Mark, alias: str) -> None:
        self._values += values
        if not alias:
            return
        self._aliased += values
        if self._aliased > MAX_ALIAS_VALUES:
            raise TooBig(
                f"the alias {alias} would make the file expand by more than {MAX_ALIAS_VALUES:,} values "
                "(a config needs a few): write the values out instead of nesting aliases",
                mark,
            )


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        _check_key(key_node)
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
        _keep_text(result.texts, key, value_node)
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(line=node.start_mark.line + 1)
    for item in node.value:
        _keep_text(result.texts, len(result), item)
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    """A date YAML reads from ``2026-02-30`` must be one: PyYAML's own error names no line."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise Refused(f"{node.value} is not a date on the calendar ({exc})", node.start_mark) from None


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor(_TIMESTAMP, _timestamp)


# None when PyYAML was built without libyaml: the careful loader then does everything. (``yaml.CParser`` does not
# exist: the package exports only the C loaders, so the parser is taken from ``yaml.cyaml``.)
CParser: Any
try:
    import yaml.cyaml

    CParser = getattr(yaml.cyaml, "CParser", None)
except ImportError:
    CParser = None


if CParser is not None:

    class _FastLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's parser (about four times faster) with the same constructors; for text without aliases."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
    _FastLoader.add_constructor(_TIMESTAMP, _timestamp)


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{name}" for name in ("str", "map", "seq"))


def _fast_load(text: str) -> Any:
    """The document through libyaml, its depth checked before anything is built from it."""
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_depth(node, 1)
        return _construct(loader, node)
    finally:
        loader.dispose()


def _construct(loader: Any, node: yaml.Node) -> Any:
    """What the loader's constructors build from ``node``, without their bookkeeping for aliases (there are none).

    Plain text, mappings and lists (nearly every node of a config) are built here, as ``_mapping`` and
    ``_sequence`` build them; any other node (numbers, booleans, dates, tagged values) by the loader itself.
    """
    tag = node.tag
    if tag == _STR and isinstance(node, yaml.ScalarNode):
        return node.value
    if tag == _MAP and isinstance(node, yaml.MappingNode):
        mapping = LineDict(line=node.start_mark.line + 1)
        for key_node, value_node in node.value:
            _check_key(key_node)
            key = _construct(loader, key_node)
            if key in mapping:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            mapping[key] = _construct(loader, value_node)
            mapping.lines[key] = key_node.start_mark.line + 1
            _keep_text(mapping.texts, key, value_node)
        return mapping
    if tag == _SEQ and isinstance(node, yaml.SequenceNode):
        sequence = LineList(line=node.start_mark.line + 1)
        for item in node.value:
            _keep_text(sequence.texts, len(sequence), item)
            sequence.append(_construct(loader, item))
            sequence.lines.append(item.start_mark.line + 1)
        return sequence
    return loader.construct_object(node, deep=True)


def _check_depth(node: yaml.Node, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TooBig(f"nested more than {MAX_DEPTH} levels deep: this is not a sentinel config", node.start_mark)
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_depth(item, depth + 1)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _check_depth(key, depth + 1)
            _check_depth(value, depth + 1)


def load(text: str, max_bytes: int = MAX_BYTES) -> Any:
    """Parse YAML text; raises yaml.YAMLError with a mark on bad syntax, Refused (TooBig past the limits above)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TooBig(f"the file is {size / 1024:,.0f} kB; this kind of config is at most {_size(max_bytes)}", None)
    # Without '*' the text has no alias and cannot expand beyond what it spells out: libyaml may read it (a town
    # of 10,000 homes in a quarter of the time). Aliases, tabs (libyaml takes some that PyYAML refuses, and the
    # carer must hear of them) and every error go through the careful loader.
    if "*" not in text and "\t" not in text and CParser is not None:
        try:
            return _fast_load(text)
        except Refused:
            raise
        except yaml.YAMLError:
            pass  # the careful loader says what is wrong, in its words
    return yaml.load(text, Loader=_Loader)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB"
