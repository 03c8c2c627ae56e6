#!/bin/sh
# Writes the hand-made seed corpus of udptl_fuzz (T.38 Annex D UDPTL packets). Byte 0 of an input is also the
# decoder setting for the stream part of the target, and the rest is read as (length octet, datagram) pairs.
set -eu
out="$(dirname "$0")/corpus/udptl"
mkdir -p "$out"
# seq 0x1234, no-signal indicator, no secondaries (what recovery "none" sends).
printf '\022\064\001\000\000\000' > "$out/none.bin"
# seq 65535, primary AA BB, three secondaries (newest first).
printf '\377\377\002\252\273\000\003\001\021\001\042\001\063' > "$out/redundancy3.bin"
# seq 7, fec-info: fec-npackets 3, two parity entries.
printf '\000\007\001\002\200\001\003\002\001\252\002\273\314' > "$out/fec.bin"
# seq 256, 200-octet primary in the long length form (0x80 0xC8), no secondaries.
{ printf '\001\000\200\310'; head -c 200 /dev/zero | tr '\000' '\125'; printf '\000\000'; } > "$out/long_primary.bin"
# Stream (window 4): seq 0; seq 1 carrying 0; seq 3 carrying 2 and 1 (2 lost); seq 3 repeated.
printf '\004\006\000\000\001\002\000\000\010\000\001\001\004\000\001\001\002\012\000\003\001\010\000\002\001\006\001\004\012\000\003\001\010\000\002\001\006\001\004' > "$out/stream_redundancy.bin"
# Stream (window 2, flushes): FEC span 2 entries 1; seq 2 lost and rebuilt from seq 3's parity (04 ^ 06).
printf '\102\010\000\000\001\002\200\001\000\000\010\000\001\001\004\200\001\000\000\012\000\003\001\010\200\001\002\001\001\002' > "$out/stream_fec.bin"
