"""Translations of the Java syntaxes Flume configs carry: regexes, ``$1`` replacements, Joda patterns.

Each function raises ValueError with a message fit to follow ``'<value>' is not valid:``; callers
turn it into a ConfigError naming the key.
"""

from __future__ import annotations

import re

from flumepy.core.context import Context

# Java's POSIX classes (US-ASCII), as the inside of a character class.
_POSIX = {
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7f", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~", "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0b\\f\\r",
    "L": "^\\W\\d_", "IsAlphabetic": "^\\W\\d_", "IsDigit": "\\d", "IsWhite_Space": "\\s",
    "javaLowerCase": "a-z", "javaUpperCase": "A-Z", "javaWhitespace": "\\s",
}


def java_regex(text: str) -> re.Pattern[str]:
    """Compile a java.util.regex pattern: named groups, ``\\k<n>``, ``\\Q..\\E``, ``\\z``/``\\Z``, ``\\p{Alpha}``."""
    out: list[str] = []
    i, n = 0, len(text)
    in_class = False
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            d = text[i + 1]
            if d == "Q":  # quote everything up to \E
                end = text.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(text[i + 2:end]))
                i = end + 2
                continue
            if d == "k" and not in_class and text.startswith("<", i + 2):
                end = text.find(">", i + 3)
                if end < 0:
                    raise ValueError("not a valid regular expression (unterminated \\k<name>)")
                out.append(f"(?P={text[i + 3:end]})")
                i = end + 1
                continue
            if d in "pP" and text.startswith("{", i + 2):
                end = text.find("}", i + 3)
                name = text[i + 3:end] if end > 0 else ""
                cls = _POSIX.get(name[2:] if name.startswith("Is") and name[2:] in _POSIX else name)
                if cls is None:
                    raise ValueError(f"not a valid regular expression (\\{d}{{{name}}} is not supported)")
                negate = d == "P"
                if in_class:
                    if negate or cls.startswith("^"):
                        raise ValueError(f"not a valid regular expression (\\{d}{{{name}}} inside [...] "
                                         f"is not supported)")
                    out.append(cls)
                else:
                    if cls.startswith("^"):
                        negate, cls = not negate, cls[1:]
                    out.append(f"[{'^' if negate else ''}{cls}]")
                i = end + 1
                continue
            if d == "z" and not in_class:
                out.append("\\Z")
            elif d == "Z" and not in_class:
                out.append("(?=\\n?\\Z)")
            else:
                out.append(text[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # a ']' right after '[' or '[^' is a literal in both dialects
            if text.startswith("^", i):
                out.append("^")
                i += 1
            if text.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        if text.startswith("(?<", i) and i + 3 < n and text[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as e:
        raise ValueError(f"not a valid regular expression ({e})") from None


def java_replacement(text: str, pattern: re.Pattern[str]) -> str:
    """A Java Matcher.replaceAll replacement (``$1``, ``${name}``, ``\\$``) as a Python re template.

    As in Java, ``$12`` means group 12 only if the pattern has that many groups, else group 1 then "2".
    """
    out: list[str] = []
    i, n = 0, len(text)
    groups = pattern.groups
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("character to be escaped is missing (trailing \\)")
            lit = text[i + 1]
            out.append("\\\\" if lit == "\\" else lit)
            i += 2
        elif c == "$":
            i += 1
            if i >= n:
                raise ValueError("illegal group reference: '$' at the end")
            if text[i] == "{":
                end = text.find("}", i)
                name = text[i + 1:end] if end > 0 else ""
                if not name or name not in pattern.groupindex:
                    raise ValueError(f"no group with name {{{name}}} in the search pattern")
                out.append(f"\\g<{name}>")
                i = end + 1
                continue
            if not text[i].isdigit():
                raise ValueError(f"illegal group reference: '${text[i]}'")
            num = int(text[i])
            if num > groups:
                raise ValueError(f"no group {num}: the search pattern has {groups} group(s)")
            i += 1
            while i < n and text[i].isdigit() and num * 10 + int(text[i]) <= groups:
                num = num * 10 + int(text[i])
                i += 1
            out.append(f"\\g<{num}>")
        else:
            out.append(c)
            i += 1
    return "".join(out)


_JODA: dict[str, str] = {
    "y": "%Y", "Y": "%Y", "x": "%Y", "d": "%d", "H": "%H", "h": "%I", "m": "%M", "s": "%S",
    "S": "%f", "a": "%p", "D": "%j", "Z": "%z",
}


def joda_to_strptime(pattern: str) -> str:
    """A Joda DateTimeFormat pattern (``yyyy-MM-dd HH:mm:ss.SSS Z``) as a ``strptime`` format."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":  # quoted literal; '' is a single quote
            if pattern.startswith("''", i):
                out.append("'")
                i += 2
                continue
            end = pattern.find("'", i + 1)
            while end > 0 and pattern.startswith("''", end):
                end = pattern.find("'", end + 2)
            if end < 0:
                raise ValueError("unterminated quote in the date pattern")
            out.append(pattern[i + 1:end].replace("''", "'").replace("%", "%%"))
            i = end + 1
            continue
        if not c.isascii() or not c.isalpha():
            out.append("%%" if c == "%" else c)
            i += 1
            continue
        j = i
        while j < n and pattern[j] == c:
            j += 1
        count = j - i
        if c in "yYx":
            out.append("%y" if count == 2 else "%Y")
        elif c == "M":
            out.append("%m" if count <= 2 else "%b" if count == 3 else "%B")
        elif c == "E":
            out.append("%a" if count <= 3 else "%A")
        elif c == "Z" and count > 2:
            raise ValueError("zone ids (ZZZ) are not supported in date patterns; use Z or ZZ")
        elif c in _JODA:
            out.append(_JODA[c])
        else:
            raise ValueError(f"date pattern letter {c!r} is not supported (supported: y M d H h m s S a E D Z)")
        i = j
    return "".join(out)


def regex_setting(ctx: Context, key: str, text: str | None) -> re.Pattern[str] | None:
    """``text`` (the value of ``key``) compiled as a Java regex; ConfigError naming the key if invalid."""
    if text is None:
        return None
    try:
        return java_regex(text)
    except ValueError as e:
        raise ctx.error(key, f"{text!r} is not valid: {e}") from None


def decode(body: bytes, charset: str = "utf-8") -> str:
    """Body bytes as text; bytes that are not valid in ``charset`` survive a round trip via encode()."""
    return body.decode(charset, "surrogateescape")


def encode(text: str, charset: str = "utf-8") -> bytes:
    try:
        return text.encode(charset, "surrogateescape")
    except UnicodeEncodeError:
        return text.encode(charset, "replace")
