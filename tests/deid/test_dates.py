"""seq2seq/deid/dates.py: dates read by language (day-first, month names, `3 de marzo de 2015`, `3. März 2015`),
moved by a number of days and written back in the original's exact format; unreadable ones are refused."""
import datetime as dt

import pytest

from seq2seq.deid.dates import read_date, shift_date

# (text, lang, the date it means)
READ = [
    ("11/02/1970", "es", dt.date(1970, 2, 11)), ("11/02/1970", "en", dt.date(1970, 11, 2)),
    ("28/05/2016", "en", dt.date(2016, 5, 28)),            # no 28th month: read day-first
    ("05/28/2016", "es", dt.date(2016, 5, 28)),            # and the other way round
    ("2016-05-28", "de", dt.date(2016, 5, 28)), ("3 de marzo de 2015", "es", dt.date(2015, 3, 3)),
    ("30 de Agosto del 2003", "es", dt.date(2003, 8, 30)), ("27-octubre-2016", "es", dt.date(2016, 10, 27)),
    ("3. März 2015", "de", dt.date(2015, 3, 3)), ("am 3. Maerz 2015".replace("Maerz", "März"), "de", dt.date(2015, 3, 3)),
    ("1er mars 2015", "fr", dt.date(2015, 3, 1)), ("3 marzo 2015", "it", dt.date(2015, 3, 3)),
    ("3 de março de 2015", "pt", dt.date(2015, 3, 3)), ("3 maart 2015", "nl", dt.date(2015, 3, 3)),
    ("the 3rd of March 2015", "en", dt.date(2015, 3, 3)), ("Tuesday, March 3, 2015", "en", dt.date(2015, 3, 3)),
    ("24-9-10", "es", dt.date(2010, 9, 24)), ("3/4/2091 10:30", "en", dt.date(2091, 3, 4)),
]


@pytest.mark.parametrize("text, lang, want", READ)
def test_read_by_language(text, lang, want):
    assert read_date(text, lang).date == want


@pytest.mark.parametrize("text, lang, days, want", [
    ("11/02/1970", "es", 10, "21/02/1970"), ("28/05/2016", "es", 10, "07/06/2016"), ("28/5/2016", "es", 10, "7/6/2016"),
    ("3 de marzo de 2015", "es", 30, "2 de abril de 2015"), ("3. März 2015", "de", -5, "26. Februar 2015"),
    ("MARZO DE 2015", "es", 31, "ABRIL DE 2015"), ("Marzo de 2015", "es", 31, "Abril de 2015"),
    ("enero-04", "es", 40, "febrero-04"), ("sep-04", "es", 31, "oct-04"), ("septiembre del año 2000", "es", 100,
                                                                          "diciembre del año 2000"),
    ("mes de abril", "es", 31, "mes de mayo"), ("año 2015", "es", 3, "año 2016"), ("24/08//1979", "es", 3, "27/08//1979"),
    ("1er mars 2015", "fr", 3, "4 mars 2015"), ("March 4th", "en", 47, "April 20th"),
    ("Tuesday, March 3, 2015 10:30", "en", 1, "Wednesday, March 4, 2015 10:30"), ("24-9-10", "es", -300, "28-11-09"),
    ("lunes", "es", 2, "miércoles"), ("3 Mar 2015", "en", 31, "3 Apr 2015")])
def test_shift_writes_the_original_format(text, lang, days, want):
    assert shift_date(text, days, lang) == want


@pytest.mark.parametrize("text, lang", [("hace 2 años", "es"), ("febrero y abril de 2002", "es"), ("16/018/1961", "es"),
                                        ("14/14/2014", "es"), ("la semana pasada", "es"), ("dob", "en"), ("2/30/2091", "en"),
                                        ("12", "es"), ("3 de marzo de 2015", "en")])
def test_what_cannot_be_read_is_refused(text, lang):
    assert read_date(text, lang) is None and shift_date(text, 5, lang) is None


@pytest.mark.parametrize("days", [1, 29, -30, 200, -365])
def test_intervals_survive_one_shift(days):
    dates = ["11/02/1970", "28/05/2016", "3 de marzo de 2015", "30 de Agosto del 2003", "27-octubre-2016"]
    old = [read_date(d, "es").date for d in dates]
    new = [read_date(shift_date(d, days, "es"), "es").date for d in dates]
    assert all((n - o).days == days for o, n in zip(old, new))
    assert all((new[i] - new[j]) == (old[i] - old[j]) for i in range(len(dates)) for j in range(len(dates)))


@pytest.mark.parametrize("text, days", [("2015", 10), ("2015", -10), ("marzo de 2015", 3), ("marzo", -3), ("lunes", 7),
                                        ("marzo", 361), ("marzo", -365)])
def test_a_partial_date_never_stays_as_it_was_except_a_whole_week(text, days):
    new = shift_date(text, days, "es")
    assert (new == text) == (days % 7 == 0 and text == "lunes")
