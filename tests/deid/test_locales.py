"""seq2seq/deid/locales.py: every language of the table is complete and reads back."""
import pytest

from seq2seq.deid.locales import REDACT_LANGS, fold, locale
from seq2seq.errors import UserError


@pytest.mark.parametrize("lang", REDACT_LANGS)
def test_every_language_is_complete(lang):
    loc = locale(lang)
    assert len(loc.months) == len(loc.months_abbr) == 12 and len(loc.weekdays) == len(loc.weekdays_abbr) == 7
    assert [loc.month_index[fold(m)] for m in loc.months] == [(i, 0) for i in range(12)]
    assert loc.day_first == (lang != "en") and loc.hospitals and loc.age_cap.startswith("90")
    assert all("{" in h for h in loc.hospitals)


def test_fold_and_unknown_language():
    assert fold("Março.") == "marco" and fold("MÄRZ") == "marz"
    with pytest.raises(UserError, match="redaction knows en, es"):
        locale("xx")
