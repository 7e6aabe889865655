"""Expressions of the checked C++ subset: precedence climbing over C's operators, casts, calls, indexing."""
from __future__ import annotations

from .ctree import Node, ParseError

QUALIFIERS = {"static", "const", "inline", "volatile", "struct", "typename", "extern"}
BASE_TYPES = {"unsigned", "signed", "long", "short", "int", "char", "float", "double", "bool", "void"}
TYPE_WORDS = QUALIFIERS | BASE_TYPES
_BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"), ("+", "-"),
           ("*", "/", "%")]
_PREC = {op: i for i, ops in enumerate(_BINARY) for op in ops}
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="}


class ExprParser:
    """The expression half of the parser (cparse.Parser): needs peek/next/at/expect, `types` and template_args."""

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
