def nsp_pairs(documents, generator):
    """(A, B, label) for each sentence but the last of each document: B its next sentence (0) or, half the time,
    a random sentence of another document (1)."""
    pairs = []
    for d, sentences in enumerate(documents):
        for i in range(len(sentences) - 1):
            if torch.rand(1, generator=generator).item() < 0.5:
                pairs.append((sentences[i + 1], sentences[i], 1))
            else:
                pairs.append((sentences[i], sentences[i + 1], 0))
    return pairs
