"""What a render may read, run and overwrite: sandboxed template overrides
confined to their folder, a page that fetches nothing, outputs that never
replace an input and are written all or nothing with their mode kept, input
files with a byte order mark, and error lines that cannot drive a terminal."""

import errno
import os
import stat

import pytest
from conftest import ROOT

from worksheet.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    assert err.startswith("worksheet: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def templates(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


def render_html(capsys, tmp_path, templates, *extra):
    return run(capsys, "render", "--format", "html", "-o", tmp_path / "out", "--templates", templates, *extra)


def nothing_written(tmp_path) -> bool:
    out = tmp_path / "out"
    return not out.exists() or list(out.iterdir()) == []


# -- templates ---------------------------------------------------------------------------------------

def test_a_template_cannot_run_a_command(capsys, tmp_path, templates):
    marker = tmp_path / "ran"
    (templates / "header.html.j2").write_text(
        f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}", encoding="utf-8")
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 2 and not marker.exists()
    assert "header.html.j2: line 1" in one_line(err) and "unsafe" in err
    assert out == "" and nothing_written(tmp_path)


def test_a_template_symlinked_outside_its_folder_is_refused(capsys, tmp_path, templates):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-TEXT", encoding="utf-8")
    (templates / "header.html.j2").symlink_to(secret)
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 2 and "header.html.j2" in one_line(err) and "outside the template folder" in err
    assert "SECRET-TEXT" not in err and nothing_written(tmp_path)


def test_a_symlink_inside_the_folder_is_fine(capsys, tmp_path, templates):
    (templates / "mine.html.j2").write_text("<header><p>Universität Beispiel</p></header>", encoding="utf-8")
    (templates / "header.html.j2").symlink_to(templates / "mine.html.j2")
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 0, err
    assert "Universität Beispiel" in (tmp_path / "out" / "hw2-1.html").read_text(encoding="utf-8")


def test_a_template_cannot_include_a_file_above_its_folder(capsys, tmp_path, templates):
    (tmp_path / "secret.txt").write_text("SECRET-TEXT", encoding="utf-8")
    (templates / "header.html.j2").write_text('{% include "../secret.txt" %}', encoding="utf-8")
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 2 and "../secret.txt" in one_line(err) and "SECRET-TEXT" not in err
    assert nothing_written(tmp_path)


@pytest.mark.parametrize("body, message", [
    ("<h1>{{ doc.title }}</h1>\n{{ doc.no_such_field }}", "header.html.j2: line 2: uses an undefined value"),
    ("{{ doc.title + 1 }}", "header.html.j2: line 1: TypeError"),
    ("{{ doc.__class__.__mro__ }}", "header.html.j2: line 1: access to attribute '__class__'"),
    ("{% set seen = [] %}{{ seen.append(1) }}", "header.html.j2: line 1: access to attribute 'append'"),
    ("{{ 1 // doc.iterations * 0 // 0 }}", "header.html.j2: line 1: ZeroDivisionError"),
    ('{% include "header.html.j2" %}', "header.html.j2: line 1: RecursionError"),
])
def test_a_template_that_fails_while_rendering_is_exit_2_naming_it(capsys, tmp_path, templates, body, message):
    (templates / "header.html.j2").write_text(body, encoding="utf-8")
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 2 and message in one_line(err), err
    assert out == "" and nothing_written(tmp_path)


def test_the_package_templates_render_in_the_sandbox_too():
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from worksheet.render import environment

    assert isinstance(environment(), ImmutableSandboxedEnvironment)  # the golden files show the output is unchanged


@pytest.mark.parametrize("markup, address", [
    ('<img src="file:///etc/hostname">', "file:///etc/hostname"),
    ('<img src="https://example.com/logo.png">', "https://example.com/logo.png"),
    ('<img src="logo.png">', "logo.png"),  # WeasyPrint drops a relative path without a word
    ('<img srcset="//example.com/a.png 2x">', "//example.com/a.png"),
    ('<link rel="stylesheet" href="uni.css">', "uni.css"),
    ('<svg><image href="file:///etc/hostname"/></svg>', "file:///etc/hostname"),
    ('<p style="background: u\\72l(https://example.com/bg.png)">x</p>', "https://example.com/bg.png"),
    ("<style>@import 'uni.css';</style>", "uni.css"),
])
def test_a_page_that_refers_outside_itself_is_refused_even_as_html(capsys, tmp_path, templates, markup, address):
    (templates / "header.html.j2").write_text(f"<header>{markup}</header>", encoding="utf-8")
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 2 and address in one_line(err) and "not fetched" in err
    assert out == "" and nothing_written(tmp_path)


def test_a_page_may_embed_data_uris_and_point_inside_itself(capsys, tmp_path, templates):
    (templates / "header.html.j2").write_text(
        '<header><img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E">'
        '<a href="https://example.com/course">course page</a><svg><use href="#x"/></svg></header>',
        encoding="utf-8")
    code, out, err = render_html(capsys, tmp_path, templates)
    assert code == 0, err


def test_the_pdf_refuses_what_weasyprint_would_drop_silently():
    from worksheet.pdf import PdfError, to_pdf

    for markup in ('<img src="logo.png">', '<img srcset="a.png 1x">', '<style>@import "a.css";</style>'):
        with pytest.raises(PdfError, match="outside"):
            to_pdf(f"<p>x</p>{markup}")


# -- outputs never replace inputs ----------------------------------------------------------------------

@pytest.fixture
def answers_file(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    assert run(capsys, "answers", "-o", path)[0] == 0
    return path


def test_check_never_overwrites_the_answers_file(capsys, tmp_path, answers_file):
    before = answers_file.read_bytes()
    code, out, err = run(capsys, "check", answers_file, "--html", answers_file)
    assert code == 2 and out == "" and "never replaces an input" in one_line(err)
    assert answers_file.read_bytes() == before


@pytest.mark.parametrize("how", ["symlink", "dotdot", "hardlink"])
def test_an_input_reached_another_way_is_still_an_input(capsys, tmp_path, answers_file, how):
    before = answers_file.read_bytes()
    other = tmp_path / "sub" / "marked.html"
    other.parent.mkdir()
    if how == "symlink":
        other.symlink_to(answers_file)
    elif how == "hardlink":
        os.link(answers_file, other)
    else:
        other = tmp_path / "sub" / ".." / "mine.toml"
    code, out, err = run(capsys, "check", answers_file, "--html", other)
    assert code == 2 and "never replaces an input" in one_line(err)
    assert answers_file.read_bytes() == before


def test_check_never_overwrites_the_spec(capsys, tmp_path):
    spec = tmp_path / "hw.toml"
    spec.write_bytes((ROOT / "worksheet" / "problems" / "hw2-1.toml").read_bytes())
    answers = tmp_path / "mine.toml"
    assert run(capsys, "answers", spec, "-o", answers)[0] == 0
    code, _, err = run(capsys, "check", spec, answers, "--html", spec)
    assert code == 2 and str(spec) in one_line(err)
    assert spec.read_bytes() == (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_bytes()


def test_render_never_overwrites_its_spec(capsys, tmp_path):
    spec = tmp_path / "hw.html"  # a TOML spec under an unlucky name: render would write hw.html beside it
    text = (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_bytes()
    spec.write_bytes(text)
    code, _, err = run(capsys, "render", spec, "--format", "html", "-o", tmp_path)
    assert code == 2 and "never replaces an input" in one_line(err)
    assert spec.read_bytes() == text


def test_render_never_writes_into_the_template_folder(capsys, templates):
    (templates / "header.html.j2").write_text("<header>{{ doc.title }}</header>", encoding="utf-8")
    code, _, err = run(capsys, "render", "--format", "html", "-o", templates, "--templates", templates)
    assert code == 2 and "template folder" in one_line(err)
    assert sorted(p.name for p in templates.iterdir()) == ["header.html.j2"]


def test_two_outputs_with_one_name_are_refused(capsys, tmp_path, answers_file):
    marked = tmp_path / "marked"
    code, _, err = run(capsys, "check", answers_file, "--html", marked, "--pdf", marked)
    assert code == 2 and "asked for twice" in one_line(err) and not marked.exists()


# -- how outputs are written ---------------------------------------------------------------------------

def test_an_existing_output_keeps_its_mode(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    key = out / "hw2-1.html"
    key.write_text("earlier", encoding="utf-8")
    key.chmod(0o600)
    code, _, err = run(capsys, "render", "--format", "html", "-o", out)
    assert code == 0, err
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and "Answer key" in key.read_text(encoding="utf-8")


def test_a_new_output_follows_the_umask(capsys, tmp_path):
    old = os.umask(0o027)
    try:
        code, _, err = run(capsys, "render", "--format", "html", "-o", tmp_path)
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "hw2-1.html").stat().st_mode) == 0o640


def test_a_full_disk_leaves_every_earlier_output_as_it_was(capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "hw2-1.html").write_text("earlier html", encoding="utf-8")
    (out / "hw2-1.pdf").write_bytes(b"earlier pdf")
    real_write = os.write

    def full_at_the_pdf(fd, data):
        if bytes(data[:5]) == b"%PDF-":  # the second file: the HTML is written first
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_at_the_pdf)
    code, stdout, err = run(capsys, "render", "-o", out)
    assert code == 2 and "hw2-1.pdf" in one_line(err) and os.strerror(errno.ENOSPC) in err
    assert stdout == ""  # no path is printed for a file that was not written
    assert (out / "hw2-1.html").read_text(encoding="utf-8") == "earlier html"
    assert (out / "hw2-1.pdf").read_bytes() == b"earlier pdf"
    assert sorted(p.name for p in out.iterdir()) == ["hw2-1.html", "hw2-1.pdf"]


# -- input files ---------------------------------------------------------------------------------------

def test_a_spec_and_an_answers_file_may_start_with_a_byte_order_mark(capsys, tmp_path):
    spec = tmp_path / "hw.toml"
    spec.write_bytes(b"\xef\xbb\xbf" + (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_bytes())
    code, out, err = run(capsys, "solve", spec)
    assert code == 0 and err == "" and "= 6.125" in out
    answers = tmp_path / "mine.toml"
    assert run(capsys, "answers", spec, "-o", answers)[0] == 0
    answers.write_bytes(b"\xef\xbb\xbf" + answers.read_bytes().replace(b'z1_1 = ""', b'z1_1 = "1.5"', 1))
    code, out, err = run(capsys, "check", spec, answers)
    assert code == 1 and err == ""  # answers missing, but the file is read
    assert "z1_1" in out


# -- error lines ---------------------------------------------------------------------------------------

UNSAFE_KEYS = [  # as written in TOML, and as the error line must show it
    ("\\u001b]0;owned\\u0007\\u001b[2J", "\\x1b]0;owned\\x07\\x1b[2J"),  # set the window title, clear the screen
    ("one\\ntwo\\rthree", "one\\ntwo\\rthree"),
    ("\\u009b31m", "\\x9b31m"),  # the one-byte CSI
    ("\\u202eevil", "\\u202eevil"),  # right-to-left override
]


def no_control_characters(err: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c == "\u202e" for c in err.rstrip("\n"))


@pytest.mark.parametrize("key, shown", UNSAFE_KEYS)
def test_an_error_line_from_a_spec_cannot_drive_the_terminal(capsys, tmp_path, key, shown):
    spec = tmp_path / "hw.toml"
    spec.write_text(f'"{key}" = 1\n' + (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    code, _, err = run(capsys, "solve", spec)
    # the spec's messages show a key escaped as TOML writes it (\u001B)
    assert code == 2 and "unknown key" in err and no_control_characters(err), repr(err)
    assert "\\u" in err, repr(err)


@pytest.mark.parametrize("key, shown", UNSAFE_KEYS)
def test_an_error_line_from_an_answers_file_cannot_drive_the_terminal(capsys, tmp_path, key, shown):
    answers = tmp_path / "mine.toml"
    answers.write_text(f'[step1]\n"z{key}" = "1"\n', encoding="utf-8")
    code, _, err = run(capsys, "check", answers)
    assert code == 2 and shown in one_line(err) and no_control_characters(err), repr(err)


def test_a_file_name_with_an_escape_is_shown_escaped(capsys, tmp_path):
    code, _, err = run(capsys, "solve", tmp_path / "x\x1b[31mred.toml")
    assert code == 2 and "\x1b" not in err and "x\\x1b[31mred.toml: no such file" in one_line(err)


def test_click_usage_errors_are_escaped_too(tmp_path, capsys, monkeypatch):
    # click names a bad path as given; a folder where a spec belongs is such an error
    monkeypatch.chdir(tmp_path)
    (tmp_path / "\x1b[31mred").mkdir()
    code = main(["solve", "\x1b[31mred"])
    err = capsys.readouterr().err
    assert code == 2 and "\x1b" not in err and "\\x1b[31mred" in err


def test_check_never_overwrites_the_built_in_spec(capsys, tmp_path, answers_file):
    # reached through a link, so a failing guard replaces the link, never the package's file
    builtin = ROOT / "worksheet" / "problems" / "hw2-1.toml"
    before = builtin.read_bytes()
    link = tmp_path / "marked.html"
    link.symlink_to(builtin)
    code, out, err = run(capsys, "check", answers_file, "--html", link)
    assert code == 2 and "never replaces an input" in one_line(err)
    assert link.is_symlink() and builtin.read_bytes() == before
    code, out, err = run(capsys, "render", "--format", "html", "-o", tmp_path / "o")
    assert code == 0


def test_outputs_are_renamed_then_their_folder_is_flushed_to_disk(tmp_path, monkeypatch):
    """A rename lives in the folder's entries: without an fsync of the folder, a power cut after a
    submission's receipt could bring the old file back."""
    import stat

    from worksheet.files import commit

    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    commit({tmp_path / "a" / "one.toml": b"1", tmp_path / "a" / "two.toml": b"2"})
    assert synced == [False, False, True]  # each file's data, then their folder once
