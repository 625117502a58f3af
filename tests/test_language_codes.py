"""Language codes of the paper's families: mBART-50 and NLLB tags, fallbacks for languages without one,
encoders without codes, and configs/paper.yaml's languages against the real code tables."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from paper_fixtures import LANGUAGES, PAPER, build_tokenizer, fixture_texts, one_line

from mtbridge.config import load_config
from mtbridge.tokenizer import NLLB_CODES, framing, language_code, language_codes


@pytest.fixture(scope="module")
def mbart_tokenizer():
    return build_tokenizer("mbart", fixture_texts())


def test_mbart50_language_codes(mbart_tokenizer) -> None:
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES

    codes = language_codes(mbart_tokenizer)
    assert codes == sorted(FAIRSEQ_LANGUAGE_CODES)
    assert language_code("de", codes) == "de_DE" and language_code("en", codes) == "en_XX"
    assert language_code("zh", codes) == "zh_CN"
    with pytest.raises(ValueError) as error:
        language_code("bg", codes)
    message = one_line(error)
    assert message.startswith("language 'bg' has no code in this tokenizer and no language_fallback")
    assert "`bg: <language whose code to use>`" in message
    assert language_code("bg", codes, {"bg": "ru"}) == "ru_RU"
    frame = framing(mbart_tokenizer, "mbart", LANGUAGES, {"bg": "ru"})
    assert frame.language_ids == {code: mbart_tokenizer.convert_tokens_to_ids(tag) for code, tag in
                                  (("en", "en_XX"), ("de", "de_DE"), ("bg", "ru_RU"))}
    assert frame.open("bg") == [mbart_tokenizer.convert_tokens_to_ids("ru_RU")]
    with pytest.raises(ValueError, match="language 'bg' has no code"):
        framing(mbart_tokenizer, "mbart", LANGUAGES)


def test_nllb_language_codes() -> None:
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    tokenizer = build_tokenizer("nllb", fixture_texts())
    codes = language_codes(tokenizer)
    assert codes == sorted(FAIRSEQ_LANGUAGE_CODES)
    assert [language_code(code, codes) for code in ("en", "de", "bg", "zh")] == [
        "eng_Latn", "deu_Latn", "bul_Cyrl", "zho_Hans"]
    frame = framing(tokenizer, "nllb", LANGUAGES)
    assert frame.seq2seq and frame.language_ids["bg"] == tokenizer.convert_tokens_to_ids("bul_Cyrl")


@pytest.mark.parametrize("architecture", ["xlm-roberta", "bert"])
def test_encoders_need_no_language_codes(architecture: str) -> None:
    tokenizer = build_tokenizer(architecture, fixture_texts())
    frame = framing(tokenizer, architecture, [*LANGUAGES, "xx"])
    assert not frame.seq2seq and frame.language_ids == {}
    assert frame.open("bg") == [tokenizer.cls_token_id]
    assert frame.double_separator == (architecture == "xlm-roberta")


def test_paper_config_languages_resolve_against_the_real_code_tables() -> None:
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES as MBART50
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB

    config = load_config(PAPER)
    # a model reads the study languages and, in its own continued pretraining, the parallel ones
    languages = list(dict.fromkeys([*config["study"]["languages"], *config["parallel"]["languages"]]))
    tables = {"mbart": MBART50, "nllb": NLLB}
    for name, spec in config["models"].items():
        if spec["architecture"] not in tables:
            continue
        codes = list(tables[spec["architecture"]])
        fallback = spec["language_fallback"]
        resolved = {language: language_code(language, codes, fallback) for language in languages}
        assert len(set(resolved.values())) >= len(languages) - len(fallback), name
        unresolved = []
        for language in languages:
            try:
                language_code(language, codes)
            except ValueError:
                unresolved.append(language)
        assert unresolved == sorted(fallback, key=languages.index), name  # every fallback is needed
    assert config["models"]["mbart50"]["language_fallback"] == {"bg": "ru", "el": "en"}
    assert (NLLB_CODES["zh"], NLLB_CODES["sw"]) == ("zho_Hans", "swh_Latn")


def test_paper_continued_pretraining_languages_have_distinct_tags() -> None:
    """An MT decoder is told the language to write by its tag alone: two languages of one family's
    continued pretraining must not share one (issue 13: bg: ru and el: en did)."""
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES as MBART50

    config = load_config(PAPER)
    languages = [config["study"]["train_language"], *config["parallel"]["languages"]]
    fallback = config["models"]["mbart50cp"]["language_fallback"]
    tags = [language_code(language, list(MBART50), fallback) for language in languages]
    assert len(set(tags)) == len(tags), dict(zip(languages, tags, strict=True))


def test_shared_tags_are_allowed_where_nothing_is_continued_here(paper_raw: dict, tmp_path: Path) -> None:
    """mbart50's MT checkpoints come from the hub: its fallbacks only tag encoder inputs."""
    raw = copy.deepcopy(paper_raw)
    raw["study"]["models"] = ["mbart50", "xlmr"]
    raw["parallel"]["languages"] = ["bg", "el", "ru"]
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path)["models"]["mbart50"]["language_fallback"] == {"bg": "ru", "el": "en"}


def test_every_paper_family_has_a_random_init_floor() -> None:
    config = load_config(PAPER)
    assert [name for name, spec in config["models"].items() if "random-init" not in spec["objectives"]] == []
