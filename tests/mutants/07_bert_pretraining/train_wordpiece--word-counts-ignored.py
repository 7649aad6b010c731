def train_wordpiece(word_counts, vocab_size):
    """A WordPiece vocabulary (list of pieces in id order) learned from word counts by the likelihood score."""
    splits = {word: [word[0]] + ["##" + char for char in word[1:]] for word in word_counts}
    vocab = list(SPECIAL_TOKENS)
    vocab += [piece for piece in sorted({piece for pieces in splits.values() for piece in pieces}) if piece not in vocab]
    while len(vocab) < vocab_size:
        piece_count, pair_count = Counter(), Counter()
        for word, count in word_counts.items():
            pieces = splits[word]
            for piece in pieces:
                piece_count[piece] += 1
            for pair in zip(pieces, pieces[1:]):
                pair_count[pair] += 1
        if not pair_count:
            break
        a, b = min(pair_count, key=lambda pair: (-pair_count[pair] / (piece_count[pair[0]] * piece_count[pair[1]]),
                                                  -pair_count[pair], pair))
        for word, pieces in splits.items():
            merged, i = [], 0
            while i < len(pieces):
                if i + 1 < len(pieces) and pieces[i] == a and pieces[i + 1] == b:
                    merged.append(a + b[2:])
                    i += 2
                else:
                    merged.append(pieces[i])
                    i += 1
            splits[word] = merged
        if a + b[2:] not in vocab:
            vocab.append(a + b[2:])
    return vocab
