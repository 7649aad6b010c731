# loses: test_attend_incrementally
# hint: must hold the new position's key and value
from course_lib.multihead import merge_heads, split_heads


def attend_incrementally(attn, x_new, cache):
    query = split_heads(attn.q_proj(x_new), attn.num_heads)
    key = split_heads(attn.k_proj(x_new), attn.num_heads)
    value = split_heads(attn.v_proj(x_new), attn.num_heads)
    keys = key if cache.key is None else torch.cat([cache.key, key], dim=2)
    values = value if cache.value is None else torch.cat([cache.value, value], dim=2)
    scores = query @ keys.transpose(-2, -1) / math.sqrt(query.shape[-1])
    return attn.out_proj(merge_heads(scores.softmax(dim=-1) @ values))
