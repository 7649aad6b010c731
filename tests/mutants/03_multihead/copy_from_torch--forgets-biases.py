def copy_from_torch(mha, torch_mha):
    """Copies the weights only: mha keeps its own random biases."""
    q_w, k_w, v_w = torch_mha.in_proj_weight.chunk(3)
    with torch.no_grad():
        mha.q_proj.weight.copy_(q_w)
        mha.k_proj.weight.copy_(k_w)
        mha.v_proj.weight.copy_(v_w)
        mha.out_proj.weight.copy_(torch_mha.out_proj.weight)
    return mha
