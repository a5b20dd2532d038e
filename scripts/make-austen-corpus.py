#!/usr/bin/env python3
"""Makes examples/data/austen.txt, the corpus of the character-model examples.

Source: Debian's package r-cran-janeaustenr (1.0.0-1, bookworm), the R package
janeaustenr by Julia Silge, which holds the Project Gutenberg texts of Jane Austen's six
novels, one line per element of a character vector. This script reads that package's
lazy-load database (data/Rdata.rdb: a sequence of zlib-compressed objects in R's XDR
serialization, each a character vector) with nothing but the Python standard library,
and writes Northanger Abbey and Persuasion (published together in December 1817), in that
order. Jane Austen died in 1817; the texts are in the public domain.

    mkdir -p /tmp/austen && cd /tmp/austen && apt-get download r-cran-janeaustenr \
      && dpkg-deb -x r-cran-janeaustenr_*_all.deb x
    python3 scripts/make-austen-corpus.py \
      /tmp/austen/x/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb examples/data/austen.txt

Edits: the editor's "A NOTE ON THE TEXT" at the end of Northanger Abbey (not Austen's) and
the closing "Finis" of Persuasion are left out; trailing spaces are removed and runs of
blank lines are cut to two; three blank lines separate the two novels. Nothing else is
changed: spelling, punctuation and line breaks are the Gutenberg text's.
"""
import re
import struct
import sys
import zlib


def character_vectors(rdb):
    data = open(rdb, 'rb').read()
    off = 0
    while off < len(data):
        dec = zlib.decompressobj()
        raw = dec.decompress(data[off + 4:])
        off = len(data) - len(dec.unused_data)
        assert raw[:2] == b'X\n', 'not an XDR serialization'
        p = 2
        version = struct.unpack('>i', raw[p:p + 4])[0]
        p += 12
        if version == 3:
            n = struct.unpack('>i', raw[p:p + 4])[0]
            p += 4 + n
        flags, length = struct.unpack('>ii', raw[p:p + 8])
        p += 8
        assert flags & 0xFF == 16, 'not a character vector'
        lines = []
        for _ in range(length):
            _, n = struct.unpack('>ii', raw[p:p + 8])
            p += 8
            if n < 0:
                lines.append('')
                continue
            lines.append(raw[p:p + n].decode('utf-8'))
            p += n
        yield lines


def tidy(lines):
    text = '\n'.join(line.rstrip() for line in lines).strip('\n')
    return re.sub(r'\n{3,}', '\n\n\n', text)


def main(rdb, out):
    books = {v[0].strip().lower(): v for v in character_vectors(rdb)}
    na = tidy(books['northanger abbey'])
    na = na[:na.index('A NOTE ON THE TEXT')].rstrip('\n')
    pe = tidy(books['persuasion'])
    assert pe.endswith('Finis')
    pe = pe[:-len('Finis')].rstrip('\n')
    with open(out, 'w', encoding='utf-8', newline='\n') as f:
        f.write(na + '\n\n\n\n' + pe + '\n')


if __name__ == '__main__':
    main(*sys.argv[1:])
