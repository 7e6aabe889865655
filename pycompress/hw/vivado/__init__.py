"""Vivado flow for the ZedBoard: TCL script writer, tool check, report parsers and host program.

Nothing here needs Vivado to import or to run; only `pycompress bitstream`
calls the tools, after checking they are there.
"""
