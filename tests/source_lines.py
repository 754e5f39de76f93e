"""The line of a file that holds a piece of text, so that tests name a bug's line by what it says, not by a number
that a reformat moves."""

from pathlib import Path


def line_of(file, text):
    """The one line number (from 1) of `file` whose line contains `text`."""
    hits = [n for n, line in enumerate(Path(file).read_text().splitlines(), 1) if text in line]
    assert len(hits) == 1, f"{text!r} is on lines {hits} of {file}; the test needs it on one"
    return hits[0]


def covers(source, file, text):
    """Whether a located source record names the line of `file` that holds `text` (or a statement over several
    lines that includes it)."""
    line = line_of(file, text)
    return Path(source["file"]).resolve() == Path(file).resolve() and source["line"] <= line <= source.get(
        "end_line", source["line"]
    )
