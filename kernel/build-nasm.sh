#!/bin/sh
# Dev build of the forklab image with NASM (until our own assembler takes over):
#   kernel/build-nasm.sh [OUTDIR]     (default: build)
# KERNEL_DEFINES="-DNAME ..." adds definitions to the system's assembly (tests use
# -DFORCE_NO_FPU: head then takes the no-coprocessor path).
# Writes OUTDIR/forklab.img (1.44 MB floppy: boot sector, 4 setup sectors, system),
# OUTDIR/kernel.map ("XXXXXXXX name" lines sorted by address: labels and .local labels,
# not macro-local ..@ labels nor equ constants) and the pieces.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-build}
mkdir -p "$OUT"
# the system, with a map of its symbols
printf '[map symbols %s/system.nasm-map]\n%%include "kernel/kernel.asm"\n' "$OUT" > "$OUT/system-wrapper.asm"
nasm -f bin -I. ${KERNEL_DEFINES:-} -o "$OUT/system.bin" "$OUT/system-wrapper.asm"
SYSBYTES=$(wc -c < "$OUT/system.bin")
SYSSIZE=$(( (SYSBYTES + 15) / 16 ))
if [ "$SYSBYTES" -gt $((0x80000)) ]; then echo "system too big: $SYSBYTES bytes" >&2; exit 1; fi
nasm -f bin -DSYSSIZE=$SYSSIZE -o "$OUT/bootsect.bin" boot/bootsect.asm
nasm -f bin -o "$OUT/setup.bin" boot/setup.asm
[ "$(wc -c < "$OUT/bootsect.bin")" -eq 512 ] || { echo "boot sector is not 512 bytes" >&2; exit 1; }
[ "$(wc -c < "$OUT/setup.bin")" -eq 2048 ] || { echo "setup is not 4 sectors" >&2; exit 1; }
cat "$OUT/bootsect.bin" "$OUT/setup.bin" "$OUT/system.bin" > "$OUT/forklab.img"
truncate -s 1474560 "$OUT/forklab.img"
# NASM's map: after "---- Section", rows "Real Virtual Name" (hex); equ constants are left out
awk '/^---- Section/ {s=1; next} s && NF==3 && $1 ~ /^[0-9A-F]+$/ {print toupper(substr("00000000" $1, length($1)+1)) " " $3}' \
  "$OUT/system.nasm-map" | grep -v ' \.\.@' | sort > "$OUT/kernel.map"
# NASM preprocesses the [map ...] path: a directory named like a -D macro loses the map
if [ ! -s "$OUT/kernel.map" ]; then
  echo "no symbols in $OUT/kernel.map (does the output path contain a macro name from KERNEL_DEFINES?)" >&2
  exit 1
fi
echo "$OUT/forklab.img: system $SYSBYTES bytes, $(wc -l < "$OUT/kernel.map") symbols"
