"""Files: reading inputs and writing outputs whole, the I/O edge the command line, the web app
and the class tools share (the stages below them touch no files).

- An input is read whole up to a limit (`read_bytes`, `read_text`: UTF-8 with or without a byte
  order mark); what keeps it from being read becomes the caller's error, naming the file.
- Outputs are all or nothing (`commit`, `write_whole`): every file goes to a temporary name
  beside its place, flushed to disk, and is renamed only when all are written; a file that
  existed keeps its permissions. `guard_outputs` refuses an output that would replace an input.
- `OutputError` is an output that cannot be made or written; `terminal_safe` makes a message
  one line that cannot drive a terminal.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from .spec import UNSAFE_TEXT

MAX_INPUT_BYTES = 2_000_000
MAX_PDF_BYTES = 20_000_000  # a filled-in blank sheet: a few hundred KB, thousands of fields at most


def read_bytes(path: Path, error: Callable[[str], Exception], limit: int = MAX_INPUT_BYTES) -> bytes:
    """An input file's bytes; what keeps it from being read becomes `error(message)`."""
    try:
        with path.open("rb") as f:  # an input is small: a huge file is a mistake, not read whole
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise error("no such file") from None
    except OSError as exc:
        raise error(exc.strerror or str(exc)) from None
    if len(data) > limit:
        raise error(f"larger than {limit // 1_000_000} MB; a spec or answers file is a few KB, "
                    "a filled-in sheet a few hundred")
    return data


def decode(data: bytes, error: Callable[[str], Exception]) -> str:
    try:  # utf-8-sig: editors on Windows start a UTF-8 file with a byte order mark
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_text(path: Path, error: Callable[[str], Exception]) -> str:
    """A UTF-8 input file's text; what keeps it from being read becomes `error(message)`."""
    return decode(read_bytes(path, error), error)


def terminal_safe(message: str) -> str:
    """`message` as one line that cannot drive a terminal: each control character written as its escape."""
    return UNSAFE_TEXT.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), message)


class OutputError(ValueError):
    """An output cannot be made or written: a template override, a folder."""


def _same_file(a: Path, b: Path) -> bool:
    # resolve() sees through symlinks and '..'; samefile also through hard links and a case-blind file system
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): then they are not the same file
        return False


def guard_outputs(outputs: list[Path], inputs: list[Path], templates_dir: Path | None = None) -> None:
    """OutputError unless every output is a file of its own: not an input, not another output, not in the
    template folder (whose files are all inputs to the render)."""
    for i, out in enumerate(outputs):
        for earlier in outputs[:i]:
            if _same_file(out, earlier):
                raise OutputError(f"{out}: asked for twice ({earlier}); give each output its own name")
        for source in inputs:
            if _same_file(out, source):
                raise OutputError(f"{out}: is the input {source}; an output never replaces an input "
                                  "(give the output another name)")
        if templates_dir is not None:
            folder = templates_dir.resolve()
            if out.resolve().is_relative_to(folder) or any(
                    _same_file(out, t) for t in templates_dir.iterdir() if t.is_file()):
                raise OutputError(f"{out}: is in the template folder {templates_dir}; an output never replaces "
                                  "a template (write it somewhere else)")


def write_whole(path: Path, data: bytes) -> None:
    """Write to a temporary name beside `path`, then rename: an earlier file
    stays as it was unless the new one is complete."""
    commit({path: data})


def commit(outputs: dict[Path, bytes]) -> None:
    """Every file to its temporary name first and renamed only when all are
    written, so a full disk leaves every earlier file as it was and no
    temporary behind."""
    temps: dict[Path, str] = {}
    try:
        for path, data in outputs.items():
            temps[path] = _write_temp(path, data)
    except BaseException:
        for tmp in temps.values():
            Path(tmp).unlink(missing_ok=True)
        raise
    replaced: list[str] = []
    for path, tmp in temps.items():
        try:
            os.replace(tmp, path)
        except OSError as exc:
            # a rename within one folder rarely fails; when it does, say what is already new
            for left in list(temps.values())[len(replaced):]:
                Path(left).unlink(missing_ok=True)
            already = f"; already replaced: {', '.join(replaced)}" if replaced else ""
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc}){already}") from None
        replaced.append(str(path))
    for folder in {path.parent for path in temps}:
        _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk: else a power cut can undo a rename already reported done."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # a file system (or OS) that cannot open a folder: the rename stands as the OS keeps it
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the data itself is already synced
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_temp(path: Path, data: bytes) -> str:
    """`data` in a new temporary file beside `path`, flushed to disk; its name."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write here ({exc.strerror or exc})") from None
    try:
        try:
            # a file that exists keeps its mode (a chmod 600 key stays private); a new one gets the umask's
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)  # else a crash after the rename can leave an empty file where the old one was
    except BaseException as exc:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise
    try:
        os.close(fd)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return tmp
