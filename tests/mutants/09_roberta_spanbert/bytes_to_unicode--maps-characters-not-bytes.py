# hint: encode the text to UTF-8 bytes first
def bytes_to_unicode():
    """GPT-2's byte-to-character map: printable bytes keep their character, the other 68 take U+0100 on, in byte order."""
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(ord("¡"), ord("¬") + 1)) | set(range(ord("®"), ord("ÿ") + 1))
    table, next_free = {}, 256
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(next_free)
            next_free += 1
    return table


def byte_level_encode(text):
    """text -> its UTF-8 bytes, each as bytes_to_unicode()'s character."""
    table = bytes_to_unicode()
    return "".join(table.get(ord(char), char) for char in text)

