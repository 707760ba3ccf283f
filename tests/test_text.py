from matcher.text import fold, fold_ascii, fold_many, name_keys


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


def test_fold_many_gives_the_keys_of_fold():
    texts = ["St. Étienne", "  st_ste  mt-ft sv ", "a__b", "İstanbul", "ﬁligree", "Ǆemal", "x\u0301", "\u0301x",
             "", "_", "St.-Étienne", "Gießen", "\u200f\u202eRTL", "😀 Ⅻ", "a\tb\nc", "Москва", "東京", "ß\x01"]
    assert fold_many(texts) == [fold(text) for text in texts]
    assert fold_many(["a\x00b"]) == [fold("a\x00b")] and fold_many([]) == []
