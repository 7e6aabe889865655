"""A parser for the C++ the HLS generator writes: enough of the language to see every loop, array access and pragma.

The generated kernel is written in a small subset on purpose (functions, arrays, scalars,
`for` loops with constant bounds, `if`, expressions, `hls::stream`, opaque `struct` and
`typedef` types), so that its schedule is evident; this module turns it into a tree the
rules (body.py, loops.py, rules.py) walk. Preprocessing follows the Vitis build: neither
PYC_STANDALONE_CSIM (the g++ bridge) nor PYC_VIVADO_HLS (legacy Vivado HLS) is defined,
and `#include "..."` pulls in files of the same folder once. Anything outside the subset is
refused with the file and line, never guessed.
"""
from __future__ import annotations

from pathlib import Path

from .ctokens import Tok, tokenize
from .cexpr import BASE_TYPES, QUALIFIERS, TYPE_WORDS, ExprParser  # noqa: F401
from .ctree import Decl, Function, Node, ParseError, Program, Stmt  # noqa: F401  (the tree types, re-exported)


# ---- parser --------------------------------------------------------------------------------------------------

class Parser(ExprParser):
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


def parse(path: str | Path) -> Program:
    """The program rooted at the kernel source `path` (its includes in the same folder)."""
    return Parser(tokenize(path)).program()
