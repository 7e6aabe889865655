"""The tree the checker's parser builds from the generated C++: expressions, declarations, statements, functions."""
from __future__ import annotations

from dataclasses import dataclass, field

from pycompress.core.errors import PycompressError


class ParseError(PycompressError):
    pass


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


def canon(node) -> str:
    """A node as text without source positions: equal for the same expression written twice."""
    if not isinstance(node, Node):
        return repr(node)
    inner = ",".join(canon(a) for a in node.args)
    return f"{node.kind}:{node.op}:{node.value}({inner})"
