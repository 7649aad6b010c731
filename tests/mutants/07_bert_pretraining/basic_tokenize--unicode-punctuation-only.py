def basic_tokenize(text):
    """BERT's (uncased) pre-tokenisation: clean, split CJK, strip accents, lowercase, split on spaces and punctuation."""
    cleaned = []
    for char in text:
        if is_dropped(char):
            continue
        if is_whitespace(char):
            cleaned.append(" ")
        elif is_cjk(char):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    text = unicodedata.normalize("NFD", "".join(cleaned))
    text = "".join(char.lower() for char in text if unicodedata.category(char) != "Mn")
    tokens = []
    for word in text.split(" "):
        current = ""
        for char in word:
            code = ord(char)
            if unicodedata.category(char).startswith("P"):
                if current:
                    tokens.append(current)
                tokens.append(char)
                current = ""
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens
