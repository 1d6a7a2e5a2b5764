"""A small segment-style LCD font: 3x5-pixel glyphs drawn with half-block characters.

Each glyph is 3 pixels wide and 5 high; two pixel rows share one text row (`▀`, `▄`, `█`), so a
character takes 3 columns by 3 rows, plus a 1-column gap. An 8-character card display is 31
columns wide — it fits a credit-card faceplate in an 80-column terminal.

Pure: text in, lines out. Characters without a glyph are drawn as a hollow box, so an
unexpected display is still visible (and the plain text is shown beneath it anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

GLYPH_WIDTH = 3
GLYPH_HEIGHT = 5
TEXT_ROWS = (GLYPH_HEIGHT + 1) // 2

# '#' = lit segment pixel. Rows top to bottom.
_FONT_SOURCE: Mapping[str, str] = {
    "0": "### #.# #.# #.# ###",
    "1": ".#. ##. .#. .#. ###",
    "2": "### ..# ### #.. ###",
    "3": "### ..# .## ..# ###",
    "4": "#.# #.# ### ..# ..#",
    "5": "### #.. ### ..# ###",
    "6": "### #.. ### #.# ###",
    "7": "### ..# ..# .#. .#.",
    "8": "### #.# ### #.# ###",
    "9": "### #.# ### ..# ###",
    "A": ".#. #.# ### #.# #.#",
    "B": "##. #.# ##. #.# ##.",
    "C": "### #.. #.. #.. ###",
    "D": "##. #.# #.# #.# ##.",
    "E": "### #.. ##. #.. ###",
    "F": "### #.. ##. #.. #..",
    "G": "### #.. #.# #.# ###",
    "H": "#.# #.# ### #.# #.#",
    "I": "### .#. .#. .#. ###",
    "J": "..# ..# ..# #.# ###",
    "K": "#.# #.# ##. #.# #.#",
    "L": "#.. #.. #.. #.. ###",
    "M": "#.# ### ### #.# #.#",
    "N": "##. #.# #.# #.# #.#",
    "O": "### #.# #.# #.# ###",
    "P": "### #.# ### #.. #..",
    "Q": "### #.# #.# ### ..#",
    "R": "##. #.# ##. #.# #.#",
    "S": "### #.. ### ..# ###",
    "T": "### .#. .#. .#. .#.",
    "U": "#.# #.# #.# #.# ###",
    "V": "#.# #.# #.# #.# .#.",
    "W": "#.# #.# ### ### #.#",
    "X": "#.# #.# .#. #.# #.#",
    "Y": "#.# #.# .#. .#. .#.",
    "Z": "### ..# .#. #.. ###",
    " ": "... ... ... ... ...",
    ">": "#.. .#. ..# .#. #..",
    "<": "..# .#. #.. .#. ..#",
    "-": "... ... ### ... ...",
    "*": "... #.# .#. #.# ...",
    "_": "... ... ... ... ###",
    ".": "... ... ... ... .#.",
    ":": "... .#. ... .#. ...",
    "[": "##. #.. #.. #.. ##.",
    "]": ".## ..# ..# ..# .##",
    "/": "..# ..# .#. #.. #..",
    "+": "... .#. ### .#. ...",
    "=": "... ### ... ### ...",
    "?": "### ..# .## ... .#.",
    "!": ".#. .#. .#. ... .#.",
}
_MISSING = "### #.# #.# #.# ###"  # hollow box: no glyph for this character

# (upper pixel lit, lower pixel lit) → half-block character
_HALF_BLOCKS: Mapping[tuple[bool, bool], str] = {
    (False, False): " ",
    (True, False): "▀",
    (False, True): "▄",
    (True, True): "█",
}


@cache
def _glyph(char: str) -> tuple[str, ...]:
    """The text rows of one character (cached: there are few distinct characters)."""
    source = _FONT_SOURCE.get(char.upper(), _MISSING) if char else _MISSING
    pixels = [[cell == "#" for cell in row] for row in source.split()]
    pixels.append([False] * GLYPH_WIDTH)  # pad to an even number of pixel rows
    return tuple(
        "".join(
            _HALF_BLOCKS[(pixels[row][column], pixels[row + 1][column])]
            for column in range(GLYPH_WIDTH)
        )
        for row in range(0, GLYPH_HEIGHT, 2)
    )


def render_lcd(text: str, width: int) -> list[str]:
    """The display `text`, left-aligned in `width` character cells, as `TEXT_ROWS` lines."""
    if width < 1:
        raise ValueError("an LCD is at least one character wide")
    cells = text[:width].ljust(width)
    return [" ".join(_glyph(char)[row] for char in cells) for row in range(TEXT_ROWS)]
