from matcher.text import fold, fold_ascii, name_keys


def test_fold_removes_accents_case_and_punctuation():
    assert fold("São Paulo") == "sao paulo"
    assert fold("St. Étienne") == "saint etienne"
    assert fold("Frankfurt (Oder)") == "frankfurt oder"
    assert fold("Kraków") == fold("Krakow")
    assert fold("Gießen") == "giessen"
    assert fold("Łódź") == "lodz"


def test_transliteration_reaches_latin_spellings():
    assert fold_ascii("Москва") == "moskva"
    assert "moskva" in name_keys("Москва")
