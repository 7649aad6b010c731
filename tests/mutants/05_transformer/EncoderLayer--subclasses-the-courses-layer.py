class EncoderLayer(transformer.EncoderLayer):
    pass
