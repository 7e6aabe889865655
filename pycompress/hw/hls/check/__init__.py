"""The rule checker for generated HLS C++ (issue 21): parse the kernel, judge every pipelined loop and DATAFLOW
region against rules a-e (rules.py, loops.py), and give each loop the II and depth the estimate uses.

ctokens/ctree/cexpr/cparse read the checked C++ subset; values/exprs/body walk one pipelined iteration;
objects holds the port model; loops judges a loop nest; rules walks the design and its dataflow regions.
"""
from .rules import RULES, CheckReport, check_project, check_source  # noqa: F401
