#!/usr/bin/env python3
"""Exit 0 if a PNG screenshot is not blank: it must decode, and more than
one percent of its pixels must differ from the most common colour (a page
that failed to render is one flat colour). Standard library only, so CI
needs no image package.

    png-not-blank.py FILE
"""
import collections
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), f"unsupported PNG: depth {depth}, colour {colour}"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, out, i = bytearray(stride), [], 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.extend(bytes(line[x:x + 3]) for x in range(0, stride, bpp))
        prev = line
    return width, height, out


def main():
    width, height, px = pixels(sys.argv[1])
    common, count = collections.Counter(px).most_common(1)[0]
    other = 1 - count / len(px)
    print(f"{sys.argv[1]}: {width}x{height}, {other:.1%} of pixels differ from the background")
    sys.exit(0 if other > 0.01 else 1)


if __name__ == "__main__":
    main()
