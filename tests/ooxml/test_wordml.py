"""Reading Word's inputs from document.xml: small inline fixtures, as Word and LibreOffice write them."""

from __future__ import annotations

from lxml import etree

from pipeline.ooxml.wordml import read_controls

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


def document(body: str) -> etree._Element:
    return etree.fromstring(
        f"<w:document xmlns:w=\"{W}\" xmlns:w14=\"{W14}\"><w:body>{body}</w:body></w:document>")


def legacy(kind: str, data: str, result: str = "") -> str:
    """A pre-2007 form field: begin (with ffData), instruction, separate, result, end."""
    return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData>{data}</w:ffData></w:fldChar></w:r>'
            f'<w:r><w:instrText xml:space="preserve"> {kind} </w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{result}'
            f'<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def test_legacy_text_check_box_and_drop_down_fields_are_read_with_their_values():
    body = (
        '<w:p><w:r><w:t>Title of meeting </w:t></w:r>'
        + legacy("FORMTEXT", '<w:name w:val="meeting_title"/><w:textInput/>',
                 "<w:r><w:t>Hull CDRP </w:t></w:r><w:r><w:t>board</w:t></w:r>") + "</w:p>"
        + '<w:p><w:r><w:t>Attended </w:t></w:r>'
        + legacy("FORMCHECKBOX", '<w:name w:val=""/><w:checkBox><w:sizeAuto/><w:checked/></w:checkBox>')
        + "</w:p>"
        + '<w:p><w:r><w:t>Rating </w:t></w:r>'
        + legacy("FORMDROPDOWN", '<w:name w:val="__Fieldmark__12_345"/><w:ddList><w:result w:val="1"/>'
                 '<w:listEntry w:val="High"/><w:listEntry w:val="Medium"/><w:listEntry w:val="Low"/>'
                 "</w:ddList>") + "</w:p>")
    text, box, drop = read_controls(document(body))
    assert (text.kind, text.tag, text.text, text.legacy) == ("text", "meeting_title", "Hull CDRP board", True)
    assert text.context.startswith("Title of meeting")
    assert (box.kind, box.checked, box.tag) == ("checkbox", True, None)  # LibreOffice empties its name
    assert (drop.kind, drop.text) == ("dropdown", "Medium")


def test_an_unticked_legacy_check_box_with_only_a_default_is_unticked():
    body = "<w:p>" + legacy("FORMCHECKBOX", '<w:checkBox><w:default w:val="0"/></w:checkBox>') + "</w:p>"
    (box,) = read_controls(document(body))
    assert box.checked is False


def test_content_control_text_split_over_runs_is_joined_and_the_glyph_is_never_trusted():
    body = (
        '<w:p><w:sdt><w:sdtPr><w:tag w:val="place"/><w:text/></w:sdtPr><w:sdtContent>'
        "<w:r><w:t>Guild</w:t></w:r><w:r><w:t>hall</w:t></w:r></w:sdtContent></w:sdt></w:p>"
        '<w:p><w:sdt><w:sdtPr><w:tag w:val="rating.high"/><w14:checkbox><w14:checked w14:val="1"/>'
        "</w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:t>\u2610</w:t></w:r></w:sdtContent></w:sdt></w:p>")
    place, box = read_controls(document(body))
    assert place.text == "Guildhall"
    assert box.checked is True  # LibreOffice ticked it but left the empty-box glyph


def test_placeholder_text_reads_as_empty_even_without_the_placeholder_flag():
    body = ('<w:p><w:sdt><w:sdtPr><w:tag w:val="length"/><w:text/></w:sdtPr><w:sdtContent>'
            "<w:r><w:t>Click here to enter text.</w:t></w:r></w:sdtContent></w:sdt></w:p>")
    (length,) = read_controls(document(body))
    assert length.text == ""


def test_a_control_without_properties_is_read_as_plain_text():
    body = "<w:p><w:sdt><w:sdtContent><w:r><w:t>Guildhall</w:t></w:r></w:sdtContent></w:sdt></w:p>"
    (place,) = read_controls(document(body))
    assert (place.kind, place.tag, place.text) == ("text", None, "Guildhall")


def test_a_control_is_known_by_its_first_tag_and_alias_even_when_they_are_empty():
    body = ('<w:p><w:r><w:t>Name </w:t></w:r><w:sdt><w:sdtPr><w:alias/><w:alias w:val="Other"/>'
            '<w:tag/><w:tag w:val="member"/><w:text/></w:sdtPr>'
            '<w:sdtContent><w:r><w:t>Jane Smith</w:t></w:r></w:sdtContent></w:sdt></w:p>')
    (name,) = read_controls(document(body))
    # The first of each counts, as the reader always took it: a second never names the box.
    assert (name.tag, name.alias, name.text, name.context) == (None, None, "Jane Smith", "Name")
