"""The shared subword tokenizer: save/reload, language tags, word encoding, architecture framing."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import LANGUAGES, VOCAB_SIZE, SmallWorld
from transformers import AutoTokenizer

from mtbridge.tokenizer import (
    encode_texts,
    encode_words,
    framing,
    language_tag,
    load_tokenizer,
    read_training_text,
    save_tokenizer,
    train_tokenizer,
)


def texts_of(small_world: SmallWorld, language: str) -> list[str]:
    return pq.read_table(small_world.monolingual(language)).column("text").to_pylist()


def test_trained_tokenizer_round_trips_through_auto_tokenizer(small_world: SmallWorld,
                                                              tmp_path: Path) -> None:
    texts = read_training_text([small_world.monolingual(code) for code in LANGUAGES], 200)
    trained = train_tokenizer(texts, LANGUAGES, VOCAB_SIZE)
    save_tokenizer(trained, LANGUAGES, tmp_path / "tok")
    reloaded = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert reloaded.is_fast and len(reloaded) == trained.get_vocab_size() == VOCAB_SIZE
    before = [encoding.ids for encoding in trained.encode_batch(texts, add_special_tokens=False)]
    assert encode_texts(reloaded, texts) == before
    assert reloaded.decode(before[0]) == texts[0]
    assert not list(tmp_path.glob(".tok.*"))  # the atomic write left no temporary directory


def test_special_tokens_have_the_mbart_names(tokenizer) -> None:
    assert [tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token,
            tokenizer.mask_token] == ["<s>", "</s>", "<pad>", "<unk>", "<mask>"]
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id,
                tokenizer.unk_token_id, tokenizer.mask_token_id}) == 5


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_tags_are_single_special_tokens(tokenizer, small_world: SmallWorld,
                                                 language: str) -> None:
    tag = language_tag(language)
    assert tag == f"{language}_XX"
    tag_id = tokenizer.convert_tokens_to_ids(tag)
    assert tag_id != tokenizer.unk_token_id and tag in tokenizer.all_special_tokens
    assert encode_texts(tokenizer, [tag]) == [[tag_id]]
    # Inside running text the tag is never split, and plain text never produces it.
    text = texts_of(small_world, language)[0]
    plain = encode_texts(tokenizer, [text])[0]
    tagged = encode_texts(tokenizer, [f"{tag} {text} {tag}"])[0]
    assert tagged.count(tag_id) == 2 and tag_id not in plain
    assert tokenizer.decode(tagged, skip_special_tokens=True).strip() == text


def test_encode_words_equals_encoding_the_joined_text(tokenizer, small_world: SmallWorld) -> None:
    sentences = [row["tokens"] for code in LANGUAGES
                 for row in pq.read_table(small_world.split("pos", "test", code)).to_pylist()]
    by_word = encode_words(tokenizer, sentences)
    joined = encode_texts(tokenizer, [" ".join(words) for words in sentences])
    assert [len(words) for words in by_word] == [len(words) for words in sentences]
    assert [[piece for word in words for piece in word] for words in by_word] == joined
    assert all(word for words in by_word for word in words)  # no word encodes to nothing
    assert any(len(word) > 1 for words in by_word for word in words)  # some words are split
    assert encode_words(tokenizer, [[], ["a"]])[0] == [] and encode_texts(tokenizer, []) == []


def test_mbart_framing(tokenizer) -> None:
    frame = framing(tokenizer, "mbart", LANGUAGES)
    assert frame.seq2seq
    tag, eos = tokenizer.convert_tokens_to_ids("close_XX"), tokenizer.eos_token_id
    assert frame.frame([11, 12], "close") == ([tag, 11, 12, eos], [False, True, True, False])
    ids, content = frame.frame([11, 12], "close", [21, 22, 23])
    assert ids == [tag, 11, 12, 21, 22, 23, eos]  # as MBart50Tokenizer(a, b): nothing between the texts
    assert content == [False, True, True, True, True, True, False]
    assert frame.segment_ids(2, 3) is None


def test_xlmr_framing(tokenizer) -> None:
    frame = framing(tokenizer, "xlm-roberta", LANGUAGES)
    assert not frame.seq2seq
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert frame.frame([11, 12], "close") == ([bos, 11, 12, eos], [False, True, True, False])
    ids, content = frame.frame([11, 12], "isolate", [21, 22, 23])
    assert ids == [bos, 11, 12, eos, eos, 21, 22, 23, eos]
    assert content == [False, True, True, False, False, True, True, True, False]
    assert (frame.pad, frame.mask) == (tokenizer.pad_token_id, tokenizer.mask_token_id)


def test_framing_needs_a_tag_for_every_language(tokenizer) -> None:
    with pytest.raises(ValueError, match=r"language 'mid' has no code in this tokenizer and no language_fa"):
        framing(tokenizer, "mbart", ["en", "mid", "xx"])


def test_load_tokenizer_on_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=f"{missing}: no tokenizer.json"):
        load_tokenizer(missing)
    missing.mkdir()
    with pytest.raises(FileNotFoundError, match="expected a saved tokenizer directory"):
        load_tokenizer(missing)


def test_training_is_byte_reproducible_across_processes(tmp_path) -> None:
    """Same corpus, two fresh processes: identical tokenizer.json (the Unigram trainer fails this)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from mtbridge.tokenizer import save_tokenizer, train_tokenizer\n"
        "texts = [f'ta lere sorome kubus{i % 7} ri Mene {i} .' for i in range(300)]\n"
        "texts += [f'fi lofen sava ranubi{i % 5} zo .' for i in range(300)]\n"
        "save_tokenizer(train_tokenizer(texts, ['en', 'mid'], 120), ['en', 'mid'], sys.argv[1])\n"
    )
    outputs = []
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True)
        outputs.append((tmp_path / run / "tokenizer.json").read_bytes())
    assert outputs[0] == outputs[1]
