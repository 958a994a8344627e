"""Reading uploads: encodings, delimiters, limits, garbage, and guessing the mapping."""

from __future__ import annotations

import pytest

from csvimport import parsing
from csvimport.parsing import CsvFileError


def test_utf8_with_and_without_bom_and_quoted_newlines():
    text = 'Email,Notes\nann@example.com,"two\nlines"\n'
    for raw in (text.encode(), b"\xef\xbb\xbf" + text.encode()):
        parsed = parsing.parse(raw)
        assert parsed.headers == ["Email", "Notes"]
        assert parsed.total_rows == 1
        assert parsed.note == ""
        assert parsing.preview_rows(parsed.text, parsed.delimiter, 2) == [
            ["ann@example.com", "two\nlines"]
        ]


def test_windows_1252_is_read_with_a_note():
    parsed = parsing.parse("Name;Company\nRené;Société Générale\n".encode("cp1252"))
    assert parsed.delimiter == ";"
    assert "Windows-1252" in parsed.note
    assert parsing.preview_rows(parsed.text, ";", 2) == [["René", "Société Générale"]]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ('name;note\n"Smith, J";"x, y"\n', ";"),
        ("email\nann@example.com\n", ","),
    ],
)
def test_sniffs_comma_semicolon_and_tab(text, delimiter):
    assert parsing.sniff_delimiter(text) == delimiter


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file is empty."),
        (b"  \n\n", "The file is empty."),
        (b"email,name\n", "header row but no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"\x81\x8d\x8f\x90\x9d", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_garbage_is_refused_with_a_reason(raw, message):
    with pytest.raises(CsvFileError, match=message):
        parsing.parse(raw)


def test_limits_on_size_and_rows():
    just_over = r"The file is 10,485,763 bytes; the limit is 10,485,760 bytes\."
    with pytest.raises(CsvFileError, match=just_over):
        parsing.parse(b"a\n" + b"x" * (parsing.MAX_BYTES + 1))
    too_many = "email\n" + "x\n" * (parsing.MAX_ROWS + 1)
    with pytest.raises(CsvFileError, match="more than 100,000 rows"):
        parsing.parse(too_many.encode())
    exactly = "email\n" + "x\n" * parsing.MAX_ROWS
    assert parsing.parse(exactly.encode()).total_rows == parsing.MAX_ROWS


def test_ragged_rows_and_blank_headers_are_padded_in_the_preview():
    parsed = parsing.parse(b"email,,notes\na@x.io\nb@x.io,1,2,3\n")
    assert parsed.headers == ["email", "Column 2", "notes"]
    assert parsing.preview_rows(parsed.text, ",", 3) == [
        ["a@x.io", "", ""],
        ["b@x.io", "1", "2"],
    ]


def test_guess_mapping_from_headers_and_synonyms():
    headers = [
        "E-mail",
        "First Name",
        "last_name",
        "Company Name",
        "Website",
        "Job Title",
        "Phone Number",
        "LinkedIn",
        "Lead Source",
        "STATUS",
        "score",
        "Comments",
        "Region",
        "id",
        "Email",  # a second email column cannot be the email too
    ]
    assert list(parsing.guess_mapping(headers).values()) == [
        "email",
        "first_name",
        "last_name",
        "company",
        "company_domain",
        "position",
        "phone",
        "linkedin_url",
        "source",
        "status",
        "score",
        "notes",
        "custom:Region",
        "ignore",
        "custom:Email",
    ]


def test_our_own_export_maps_back_onto_the_same_fields():
    from leads.pages.csv_export import COLUMNS

    mapping = parsing.guess_mapping([name for name, _ in COLUMNS])
    assert mapping["0"] == "ignore"  # id
    # created_at comes back as the creation date of the leads the import creates.
    names = [name for name, _ in COLUMNS]
    assert {mapping[str(i)] for i in range(1, len(names)) if i != 14} == set(parsing.FIELD_LABELS)
    assert mapping["13"] == "created_at"
    assert mapping["14"] == "ignore"  # updated_at
    assert mapping[str(names.index("deal_value"))] == "deal_value"


def test_mapping_validation():
    errors, general = parsing.validate_mapping({"0": "email", "1": "email", "2": "phone"}, 3)
    assert errors == {"1": "Email is already chosen for column 1."}
    assert general == []
    errors, general = parsing.validate_mapping({"0": "phone", "1": "ignore"}, 2)
    assert errors == {}
    assert "Map at least one column" in general[0]
    errors, _ = parsing.validate_mapping({"0": "email", "1": "password", "2": "custom:"}, 3)
    assert errors == {
        "1": "Choose one of the listed fields.",
        "2": "A custom attribute needs a name.",
    }
    errors, _ = parsing.validate_mapping({"0": "custom:Region", "1": "custom:Region"}, 2)
    assert errors == {"1": "Custom attribute “Region” is already chosen for column 1."}


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (10 * 1024 * 1024, "10 MB"),
        (1536 * 1024, "1.5 MB"),
        (900 * 1024, "900 KB"),
        (10, "10 bytes"),
    ],
)
def test_sizes_read_as_people_write_them(size, text):
    assert parsing.size_text(size) == text
