def wordpiece(word, vocab, unk_token="[UNK]", max_chars_per_word=100):
    """The WordPiece pieces of one word, greedily longest match first; [unk_token] if it cannot be covered."""
    if len(word) > max_chars_per_word:
        return [unk_token]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk_token]
        pieces.append(piece)
        start = end
    return pieces
