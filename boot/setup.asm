; forklab setup, in the manner of Linux 0.11's setup: loaded by the boot sector at
; 9020:0000 (4 sectors). It asks the BIOS what the kernel needs to know and saves it at
; 0x90000, moves the system from 0x10000 down to 0, loads a temporary GDT and an empty
; IDT, turns on A20 through the keyboard controller, moves the PIC vectors to 0x20/0x28
; and enters protected mode with lmsw, jumping to the kernel head at 0x08:0.
;
; Saved parameters (offsets from 0x90000):
;   0x00 word  cursor position (INT 10h AH=03h: dl = column, dh = row)
;   0x02 word  extended memory in KB (INT 15h AH=88h)
;   0x04 word  video page (bx of INT 10h AH=0Fh)
;   0x06 word  video mode (al) and columns (ah)
;   0x08 word  EGA: ax of INT 10h AH=12h BL=10h
;   0x0A word  EGA: bx (bh = mono/colour, bl = memory)
;   0x0C word  EGA: cx (feature bits, switch settings)
;   0x80       16 bytes: hard-disk 0 parameters (INT 41h vector)
;   0x90       16 bytes: hard-disk 1 parameters (INT 46h vector), zero when absent

bits 16
org 0

INITSEG  equ 0x9000
SYSSEG   equ 0x1000
SETUPSEG equ 0x9020

setup_start:
        mov ax, INITSEG
        mov ds, ax
        mov ah, 0x03            ; cursor
        xor bh, bh
        int 0x10
        mov [0], dx

        mov ah, 0x88            ; extended memory size
        int 0x15
        jnc .mem_ok
        xor ax, ax
.mem_ok:
        mov [2], ax

        mov ah, 0x0f            ; video mode
        int 0x10
        mov [4], bx
        mov [6], ax

        mov ah, 0x12            ; EGA/VGA information
        mov bl, 0x10
        int 0x10
        mov [8], ax
        mov [10], bx
        mov [12], cx

; hard-disk parameter tables
        xor ax, ax
        mov ds, ax
        lds si, [4*0x41]
        mov ax, INITSEG
        mov es, ax
        mov di, 0x0080
        mov cx, 0x10
        cld
        rep movsb

        xor ax, ax
        mov ds, ax
        lds si, [4*0x46]
        mov ax, INITSEG
        mov es, ax
        mov di, 0x0090
        mov cx, 0x10
        rep movsb

; is there a second hard disk? (INT 13h AH=15h, DL=81h: AH=3 means a fixed disk)
        mov ax, 0x1500
        mov dl, 0x81
        int 0x13
        jc no_disk1
        cmp ah, 3
        je is_disk1
no_disk1:
        mov ax, INITSEG
        mov es, ax
        mov di, 0x0090
        mov cx, 0x10
        xor ax, ax
        rep stosb
is_disk1:

; from here on no BIOS: its vectors and data are about to be overwritten
        cli

; move the system (0x10000..0x8FFFF) down to 0
        xor ax, ax
        cld
do_move:
        mov es, ax              ; destination segment
        add ax, 0x1000
        cmp ax, 0x9000
        jz end_move
        mov ds, ax              ; source segment
        xor di, di
        xor si, si
        mov cx, 0x8000
        rep movsw
        jmp do_move
end_move:

        mov ax, SETUPSEG
        mov ds, ax
        lidt [idt_48]
        lgdt [gdt_48]

; A20 through the 8042: command D1 (write output port), data DF (A20 on)
        call empty_8042
        mov al, 0xd1
        out 0x64, al
        call empty_8042
        mov al, 0xdf
        out 0x60, al
        call empty_8042

; the two 8259As: ICW1 edge/cascade/ICW4, vectors 0x20 and 0x28, cascade on IRQ2,
; 8086 mode, then mask everything
        mov al, 0x11
        out 0x20, al
        call io_delay
        out 0xa0, al
        call io_delay
        mov al, 0x20
        out 0x21, al
        call io_delay
        mov al, 0x28
        out 0xa1, al
        call io_delay
        mov al, 0x04
        out 0x21, al
        call io_delay
        mov al, 0x02
        out 0xa1, al
        call io_delay
        mov al, 0x01
        out 0x21, al
        call io_delay
        out 0xa1, al
        call io_delay
        mov al, 0xff
        out 0x21, al
        call io_delay
        out 0xa1, al

; protected mode
        mov ax, 0x0001
        lmsw ax
        jmp 0x08:0              ; selector 8 = code, offset 0 = the kernel head

; empty_8042: wait until the controller has taken our last byte (input buffer empty),
; discarding any output; gives up after 65536 polls (no controller: the kernel's A20
; check will then say so)
empty_8042:
        push cx
        xor cx, cx
.poll:  call io_delay
        in al, 0x64
        test al, 1              ; output buffer full: read and discard
        jz .no_output
        call io_delay
        in al, 0x60
        jmp .next
.no_output:
        test al, 2              ; input buffer full
        jz .done
.next:  loop .poll
.done:  pop cx
        ret

io_delay:
        jmp short .d1
.d1:    jmp short .d2
.d2:    ret

; temporary GDT: null, code (base 0, 8 MB, read/exec), data (base 0, 8 MB, read/write)
gdt:
        dw 0, 0, 0, 0
        dw 0x07ff, 0x0000, 0x9a00, 0x00c0
        dw 0x07ff, 0x0000, 0x9200, 0x00c0
idt_48:
        dw 0
        dd 0
gdt_48:
        dw 0x800
        dd 0x90200 + gdt

        times 4*512 - ($ - $$) db 0
