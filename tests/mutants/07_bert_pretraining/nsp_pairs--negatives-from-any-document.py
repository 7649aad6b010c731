def nsp_pairs(documents, generator):
    """(A, B, label) for each sentence but the last of each document: B its next sentence (0) or, half the time,
    a random sentence of another document (1)."""
    pairs = []
    for d, sentences in enumerate(documents):
        for i in range(len(sentences) - 1):
            if torch.rand(1, generator=generator).item() < 0.5:
                others = [j for j, other in enumerate(documents) if len(other) > 0]
                if not others:
                    raise ValueError(f"document {d} needs a negative, but no other document has a sentence")
                j = others[torch.randint(len(others), (1,), generator=generator).item()]
                s = torch.randint(len(documents[j]), (1,), generator=generator).item()
                pairs.append((sentences[i], documents[j][s], 1))
            else:
                pairs.append((sentences[i], sentences[i + 1], 0))
    return pairs
