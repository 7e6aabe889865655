"""A parser for the C++ the HLS generator writes: enough of the language to see every loop, array access and pragma.

The generated kernel is written in a small subset on purpose (functions, arrays, scalars,
`for` loops with constant bounds, `if`, expressions, `hls::stream`, opaque `struct` and
`typedef` types), so that its schedule is evident; this module turns it into a tree the
rules in `analyse.py` / `rules.py` walk. Preprocessing follows the Vitis build: neither
PYC_STANDALONE_CSIM (the g++ bridge) nor PYC_VIVADO_HLS (legacy Vivado HLS) is defined,
and `#include "..."` pulls in files of the same folder once. Anything outside the subset is
refused with the file and line, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pycompress.core.errors import PycompressError


class ParseError(PycompressError):
    pass


# ---- tokens --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+) | (?P<comment>//[^\n]*|/\*.*?\*/) |
    (?P<num>0[xX][0-9a-fA-F]+[uUlL]*|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[fFuUlL]*) |
    (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*') |
    (?P<id>[A-Za-z_]\w*) |
    (?P<op><<=|>>=|::|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||\+=|-=|\*=|/=|%=|&=|\|=|\^=|[-+*/%<>=!~&|^?:;,.(){}\[\]])
    """, re.X | re.S)


@dataclass(frozen=True)
class Tok:
    kind: str  # id num op str pragma
    text: str
    file: str
    line: int


def _lines(path: Path, defined: set[str], seen: set[Path]) -> list[tuple[str, str, int]]:
    """Source lines after conditional compilation and includes: (text, file, line)."""
    if path in seen:
        return []
    seen.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError(f"{path}: {exc.strerror}") from None
    out: list[tuple[str, str, int]] = []
    stack: list[bool] = []  # active branches
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        active = all(stack)
        if line.startswith("#"):
            words = line[1:].split()
            d = words[0] if words else ""
            if d in ("ifdef", "ifndef"):
                stack.append((words[1] in defined) == (d == "ifdef"))
            elif d == "if":
                stack.append(False)  # only `#if 0`-style blocks appear; none are compiled by Vitis here
            elif d == "else":
                stack[-1] = not stack[-1]
            elif d == "endif":
                stack.pop()
            elif not active:
                continue
            elif d == "define" and len(words) >= 2:
                defined.add(words[1])
            elif d == "include":
                m = re.match(r'#\s*include\s+"([^"]+)"', line)
                if m and (path.parent / m.group(1)).exists():
                    out += _lines(path.parent / m.group(1), defined, seen)
            elif d == "pragma" and len(words) >= 2 and words[1].upper() == "HLS":
                out.append(("\x00" + " ".join(words[2:]), str(path.name), n))
            continue
        if active:
            out.append((raw, str(path.name), n))
    return out


_TABLE_ROW = re.compile(r"[\s0-9a-fA-FxXuUlL.,+\-]*")  # a row of a table initialiser: numbers and commas only


def tokenize(path: str | Path, defined: set[str] | None = None) -> list[Tok]:
    toks: list[Tok] = []
    for text, file, line in _lines(Path(path), set(defined or ()), set()):
        if text.startswith("\x00"):
            toks.append(Tok("pragma", text[1:], file, line))
            continue
        if _TABLE_ROW.fullmatch(text):  # table contents do not matter to the rules (a declarator skips its braces)
            continue
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ParseError(f"{file}:{line}: cannot read {text[pos:pos + 20]!r}")
            pos = m.end()
            kind = m.lastgroup
            if kind in ("ws", "comment"):
                continue
            toks.append(Tok(kind, m.group(kind), file, line))
    return toks


# ---- tree ----------------------------------------------------------------------------------------------------

@dataclass
class Node:
    kind: str  # num name bin un post cast call index member tern assign
    op: str = ""
    args: tuple = ()
    value: object = None  # num: int/float; name/member: identifier; cast: type text
    line: int = 0


@dataclass
class Decl:
    name: str
    type: str  # the type words, e.g. "static const pyc_uint<36>::type"
    dims: tuple  # tuple of Node (array extents); () for scalars
    init: Node | None = None
    ref: bool = False  # `T &x` (a reference parameter)
    pointer: bool = False
    line: int = 0

    @property
    def const(self) -> bool:
        return "const" in self.type.split()

    @property
    def static(self) -> bool:
        return "static" in self.type.split()


@dataclass
class Stmt:
    kind: str  # block decl expr for if return pragma
    line: int = 0
    body: list = field(default_factory=list)  # block: statements; for: [body statement]
    decl: Decl | None = None
    expr: Node | None = None
    label: str = ""
    var: str = ""  # for: loop variable
    start: Node | None = None
    cond: Node | None = None
    step: Node | None = None
    orelse: list = field(default_factory=list)
    text: str = ""  # pragma


@dataclass
class Function:
    name: str
    type: str
    params: list[Decl]
    body: list[Stmt]
    file: str
    line: int


@dataclass
class Program:
    functions: dict[str, Function]
    globals: dict[str, Decl]
    types: set[str]
    typedefs: dict[str, str] = field(default_factory=dict)

    def resolve(self, type_text: str) -> str:
        """`type_text` with typedef names replaced by what they name (qualifiers kept)."""
        words = []
        for w in type_text.split():
            seen = 0
            while w in self.typedefs and seen < 16:
                w, seen = self.typedefs[w], seen + 1
            words.append(w)
        return " ".join(words)

    def function(self, name: str) -> Function:
        if name not in self.functions:
            raise ParseError(f"no function {name!r}")
        return self.functions[name]


# ---- parser --------------------------------------------------------------------------------------------------

QUALIFIERS = {"static", "const", "inline", "volatile", "struct", "typename", "extern"}
BASE_TYPES = {"unsigned", "signed", "long", "short", "int", "char", "float", "double", "bool", "void"}
TYPE_WORDS = QUALIFIERS | BASE_TYPES
_BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"), ("+", "-"),
           ("*", "/", "%")]
_PREC = {op: i for i, ops in enumerate(_BINARY) for op in ops}
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="}


class Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks, self.i = toks, 0
        self.types: set[str] = {"pyc_uint", "ap_uint", "ap_int", "hls", "std"}
        self.functions: dict[str, Function] = {}
        self.globals: dict[str, Decl] = {}
        self.typedefs: dict[str, str] = {}

    # token helpers
    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind != "pragma" and t.text == text

    def next(self) -> Tok:
        t = self.peek()
        if t is None:
            raise ParseError("unexpected end of file")
        self.i += 1
        return t

    def expect(self, text: str) -> Tok:
        t = self.next()
        if t.text != text or t.kind == "pragma":
            raise ParseError(f"{t.file}:{t.line}: expected {text!r}, found {t.text!r}")
        return t

    def fail(self, what: str) -> ParseError:
        t = self.peek() or self.toks[-1]
        return ParseError(f"{t.file}:{t.line}: {what} (at {t.text!r})")

    def skip_braces(self) -> None:
        depth = 0
        while True:
            t = self.next()
            if t.kind == "op" and t.text == "{":
                depth += 1
            elif t.kind == "op" and t.text == "}":
                depth -= 1
                if depth == 0:
                    return

    # types
    def is_type_start(self) -> bool:
        t = self.peek()
        if t is None or t.kind != "id":
            return False
        if t.text in TYPE_WORDS or t.text in self.types:
            return True
        nxt = self.peek(1)  # `Name name` or `Name<...>` patterns of user types
        return nxt is not None and nxt.kind == "id" and nxt.text not in ("return",)

    def parse_type(self) -> str:
        words, has_type = [], False
        while True:
            t = self.peek()
            if t is None or t.kind != "id":
                break
            if t.text in QUALIFIERS:
                words.append(self.next().text)
            elif t.text in BASE_TYPES:
                words.append(self.next().text)
                has_type = True
            elif not has_type:  # a user type: Name, Name<...>, ns::Name, Name<...>::type
                word = self.next().text
                if self.at("<"):
                    word += self.template_args()
                while self.at("::"):
                    self.next()
                    word += "::" + self.next().text
                    if self.at("<"):
                        word += self.template_args()
                words.append(word)
                has_type = True
            else:
                break
        return " ".join(words)

    def template_args(self) -> str:
        depth, parts = 0, []
        while True:
            t = self.next()
            parts.append(t.text)
            if t.text == "<":
                depth += 1
            elif t.text == ">":
                depth -= 1
            elif t.text == ">>":
                depth -= 2
            if depth <= 0:
                return "".join(parts)

    def declarator(self, type_text: str) -> Decl:
        ref = pointer = False
        while self.at("&") or self.at("*"):
            ref |= self.next().text == "&"
            pointer |= not ref
        name = self.next()
        if name.kind != "id":
            raise ParseError(f"{name.file}:{name.line}: expected a name, found {name.text!r}")
        dims = []
        while self.at("["):
            self.next()
            dims.append(self.expression())
            self.expect("]")
        init = None
        if self.at("="):
            self.next()
            if self.at("{"):
                self.skip_braces()  # table initialisers: contents do not matter to the rules
                init = Node("init", line=name.line)
            else:
                init = self.expression()
        return Decl(name.text, type_text, tuple(dims), init, ref, pointer, name.line)

    # program
    def program(self) -> Program:
        while self.peek() is not None:
            self.top_item()
        return Program(self.functions, self.globals, self.types, self.typedefs)

    def top_item(self) -> None:
        t = self.peek()
        if t.kind == "pragma":
            self.next()
            return
        if t.text == ";":
            self.next()
            return
        if t.text == "typedef":
            self.next()
            aliased = self.parse_type()
            while self.at("&") or self.at("*"):
                aliased += self.next().text
            name = self.next().text
            self.types.add(name)
            self.typedefs[name] = aliased
            self.expect(";")
            return
        if t.text == "namespace":
            self.next()
            ns = self.next().text
            self.types.add(ns)
            self.expect("{")
            while not self.at("}"):
                self.top_item()
            self.next()
            return
        if t.text == "struct":
            self.next()
            self.types.add(self.next().text)
            self.skip_braces()
            self.expect(";")
            return
        if t.text == "template":  # only type templates (pyc_uint<W>): a name to know, nothing to check
            self.next()
            self.template_args()
            if not self.at("struct"):
                raise self.fail("function templates are outside the checked subset")
            self.next()
            self.types.add(self.next().text)
            self.skip_braces()
            self.expect(";")
            return
        if t.text in ("extern", "union"):
            raise self.fail("extern blocks and unions at file scope are outside the checked subset")
        type_text = self.parse_type()
        decl = self.declarator(type_text)
        if self.at("("):
            self.function(decl, t)
            return
        self.globals[decl.name] = decl
        while self.at(","):
            self.next()
            d = self.declarator(type_text)
            self.globals[d.name] = d
        self.expect(";")

    def function(self, head: Decl, first: Tok) -> None:
        self.expect("(")
        params = []
        while not self.at(")"):
            if self.at("void") and self.at(")", 1):
                self.next()
                break
            params.append(self.declarator(self.parse_type()))
            if self.at(","):
                self.next()
        self.expect(")")
        if self.at(";"):
            self.next()
            return
        body = self.block()
        self.functions[head.name] = Function(head.name, head.type, params, body, first.file, first.line)

    # statements
    def block(self) -> list[Stmt]:
        self.expect("{")
        out = []
        while not self.at("}"):
            out.append(self.statement())
        self.next()
        return out

    def statement(self) -> Stmt:
        t = self.peek()
        if t.kind == "pragma":
            self.next()
            return Stmt("pragma", t.line, text=t.text)
        if t.text == "{":
            return Stmt("block", t.line, body=self.block())
        if t.kind == "id" and self.at(":", 1) and not self.at("::", 1):
            self.next()
            self.next()
            s = self.statement()
            if s.kind != "for":
                raise ParseError(f"{t.file}:{t.line}: a label must name a for loop")
            s.label = t.text
            return s
        if t.text == "for":
            return self.for_loop()
        if t.text == "if":
            self.next()
            self.expect("(")
            cond = self.expression()
            self.expect(")")
            then = self.statement()
            orelse = []
            if self.at("else"):
                self.next()
                orelse = [self.statement()]
            return Stmt("if", t.line, body=[then], cond=cond, orelse=orelse)
        if t.text == "return":
            self.next()
            e = None if self.at(";") else self.expression()
            self.expect(";")
            return Stmt("return", t.line, expr=e)
        if t.text in ("while", "do", "switch", "goto", "break", "continue"):
            raise self.fail(f"'{t.text}' is outside the checked subset (loops must be counted for loops)")
        if t.text == "union" and self.at("{", 1):  # a local bit-cast union: an opaque register
            self.next()
            self.skip_braces()
            d = self.declarator("union")
            self.expect(";")
            return Stmt("decl", t.line, decl=d)
        if self.is_type_start():
            type_text = self.parse_type()
            decls = [self.declarator(type_text)]
            while self.at(","):
                self.next()
                decls.append(self.declarator(type_text))
            self.expect(";")
            if len(decls) == 1:
                return Stmt("decl", t.line, decl=decls[0])
            return Stmt("block", t.line, body=[Stmt("decl", t.line, decl=d) for d in decls])
        e = self.expression()
        self.expect(";")
        return Stmt("expr", t.line, expr=e)

    def for_loop(self) -> Stmt:
        t = self.expect("for")
        self.expect("(")
        self.parse_type()
        var = self.next().text
        self.expect("=")
        start = self.expression()
        self.expect(";")
        cond = self.expression()
        self.expect(";")
        step = self.expression()
        self.expect(")")
        body = self.statement()
        return Stmt("for", t.line, body=body.body if body.kind == "block" else [body], var=var, start=start,
                    cond=cond, step=step)

    # expressions (precedence climbing)
    def expression(self) -> Node:
        left = self.ternary()
        if self.peek() is not None and self.peek().text in _ASSIGN and self.peek().kind == "op":
            op = self.next()
            right = self.expression()
            return Node("assign", op.text, (left, right), line=op.line)
        return left

    def ternary(self) -> Node:
        cond = self.binary(0)
        if self.at("?"):
            q = self.next()
            a = self.expression()
            self.expect(":")
            b = self.ternary()
            return Node("tern", "?", (cond, a, b), line=q.line)
        return cond

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            t = self.peek()
            if t is None or t.kind != "op" or t.text not in _BINARY[level]:
                return left
            self.next()
            left = Node("bin", t.text, (left, self.binary(level + 1)), line=t.line)

    def unary(self) -> Node:
        t = self.peek()
        if t.kind == "op" and t.text in ("!", "~", "-", "+", "++", "--", "&", "*"):
            self.next()
            return Node("un", t.text, (self.unary(),), line=t.line)
        if t.text == "(" and self._is_cast():
            self.next()
            ty = self.parse_type()
            while self.at("*"):
                self.next()
                ty += "*"
            self.expect(")")
            return Node("cast", "", (self.unary(),), ty, t.line)
        return self.postfix(self.primary())

    def _is_cast(self) -> bool:
        t = self.peek(1)
        return t is not None and t.kind == "id" and (t.text in TYPE_WORDS or t.text in self.types) and \
            not (self.peek(2) is not None and self.peek(2).text == "(" and t.text not in TYPE_WORDS)

    def primary(self) -> Node:
        t = self.next()
        if t.kind == "num":
            return Node("num", value=_number(t.text), line=t.line, op=t.text)
        if t.kind == "str":
            return Node("str", value=t.text, line=t.line)
        if t.text == "(":
            e = self.expression()
            self.expect(")")
            return e
        if t.kind == "id":
            name = t.text
            if self.at("<") and name in self.types:  # functional cast ap_uint<W>(x) or pyc_uint<W>::type(x)
                name += self.template_args()
            while self.at("::"):
                self.next()
                name += "::" + self.next().text
            if (name in self.types or "<" in name or "::" in name) and self.at("("):
                self.next()
                arg = self.expression()
                self.expect(")")
                return Node("cast", "", (arg,), name, t.line)
            return Node("name", value=name, line=t.line)
        raise ParseError(f"{t.file}:{t.line}: unexpected {t.text!r} in an expression")

    def postfix(self, e: Node) -> Node:
        while True:
            if self.at("["):
                self.next()
                idx = self.expression()
                self.expect("]")
                e = Node("index", "", (e, idx), line=e.line)
            elif self.at("("):
                self.next()
                args = []
                while not self.at(")"):
                    args.append(self.expression())
                    if self.at(","):
                        self.next()
                self.next()
                e = Node("call", "", (e, *args), line=e.line)
            elif self.at(".") or self.at("->"):
                self.next()
                e = Node("member", "", (e,), self.next().text, e.line)
            elif self.at("++") or self.at("--"):
                e = Node("post", self.next().text, (e,), line=e.line)
            else:
                return e


def _number(text: str) -> int | float:
    t = text.rstrip("uUlL")
    if t.lower().startswith("0x"):
        return int(t, 16)
    if any(c in t for c in ".eE") or text[-1] in "fF" and not t.lower().startswith("0x"):
        return float(t.rstrip("fF"))
    return int(t)


def parse(path: str | Path) -> Program:
    """The program rooted at the kernel source `path` (its includes in the same folder)."""
    return Parser(tokenize(path)).program()


def canon(node) -> str:
    """A node as text without source positions: equal for the same expression written twice."""
    if not isinstance(node, Node):
        return repr(node)
    inner = ",".join(canon(a) for a in node.args)
    return f"{node.kind}:{node.op}:{node.value}({inner})"
