; forklab boot sector, in the manner of Linux 0.11's bootsect.
;
; The BIOS loads this sector at 0000:7C00 and jumps to it with DL = boot drive. We copy
; ourselves to 9000:0000, load SETUPLEN sectors of setup at 9000:0200 (= 9020:0000) and the
; system at 1000:0000 with INT 13h AH=02h reads of (parts of) tracks that never cross a
; 64 KB boundary, print a message, pick a root device and jump to setup.
;
; The system's size in 16-byte clicks is the word `syssize` at offset 0x1F4: assembled from
; SYSSIZE (-DSYSSIZE=... ; the default loads 192 KB), and an image builder may patch it.

bits 16
org 0

%ifndef SYSSIZE
%define SYSSIZE 0x3000
%endif

SETUPLEN equ 4                  ; sectors of setup
BOOTSEG  equ 0x07c0
INITSEG  equ 0x9000
SETUPSEG equ 0x9020
SYSSEG   equ 0x1000

bootsect_start:
        mov ax, BOOTSEG
        mov ds, ax
        mov ax, INITSEG
        mov es, ax
        mov cx, 256
        xor si, si
        xor di, di
        cld
        rep movsw
        jmp INITSEG:bs_go

bs_go:
        mov ax, cs
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0xff00          ; stack well above setup, below 0xA0000
        mov [boot_drive], dl

; --- setup: sectors 2..1+SETUPLEN of track 0, head 0, right after this sector
load_setup:
        mov dl, [boot_drive]
        mov dh, 0
        mov cx, 0x0002          ; cylinder 0, sector 2
        mov bx, 0x0200          ; es:bx = 9000:0200
        mov ax, 0x0200 + SETUPLEN
        int 0x13
        jnc setup_loaded
        mov dl, [boot_drive]
        xor ax, ax              ; reset the drive and try again
        int 0x13
        jmp load_setup

setup_loaded:
; --- drive geometry: sectors per track and heads (INT 13h AH=08h)
        mov dl, [boot_drive]
        mov ah, 0x08
        int 0x13                ; clobbers es:di (diskette parameter table)
        jc geometry_default
        and cx, 0x3f
        jz geometry_default
        mov [sectors], cx
        inc dh
        mov [heads], dh
        jmp geometry_done
geometry_default:
        mov word [sectors], 18
        mov byte [heads], 2
geometry_done:
        mov ax, INITSEG
        mov es, ax

; --- say hello (INT 10h AH=03h cursor, AX=1301h write string)
        mov ah, 0x03
        xor bh, bh
        int 0x10
        mov cx, msg_len
        mov bx, 0x0007
        mov bp, boot_msg
        mov ax, 0x1301
        int 0x10

; --- the system, at 1000:0000
        mov ax, SYSSEG
        mov es, ax
        call read_it
        call kill_motor

; --- root device: keep a non-zero word at 0x1FC, otherwise guess from the geometry
        mov ax, [root_dev]
        cmp ax, 0
        jne root_defined
        mov bx, [sectors]
        mov ax, 0x0208          ; /dev/at0 (1.2 MB)
        cmp bx, 15
        je root_defined
        mov ax, 0x021c          ; /dev/PS0 (1.44 MB)
        cmp bx, 18
        je root_defined
        mov ax, 0x0301          ; a hard disk: first partition
root_defined:
        mov [root_dev], ax

        mov dl, [boot_drive]
        jmp SETUPSEG:0

; read_it: load the system into es:0 .. ENDSEG:0. Each INT 13h call reads the rest of the
; current track, or less when the 64 KB segment would be crossed; then the next head or
; cylinder. es starts on a 64 KB boundary.
read_it:
        xor bx, bx              ; offset inside the current 64 KB segment
.next:
        mov ax, es
        sub ax, SYSSEG
        cmp ax, [syssize]               ; clicks loaded so far vs. the system's size
        jb .more
        ret
.more:
        mov ax, [sectors]
        sub ax, [sread]         ; sectors left on this track
        mov cx, ax
        shl cx, 9               ; bytes
        add cx, bx
        jnc .fits               ; the whole rest fits below 64 KB
        jz .fits                ; ends exactly at 64 KB
        xor ax, ax
        sub ax, bx
        shr ax, 9               ; only what is left of this segment
.fits:
        call read_track         ; ax sectors
        mov cx, ax              ; sectors just read
        add ax, [sread]
        cmp ax, [sectors]
        jne .same_track
        mov ax, [head]          ; track done: next head, or next cylinder
        inc ax
        cmp al, [heads]
        jb .set_head
        inc word [track]
        xor ax, ax
.set_head:
        mov [head], ax
        xor ax, ax
.same_track:
        mov [sread], ax
        shl cx, 9
        add bx, cx
        jnc .next
        mov ax, es              ; wrapped: next 64 KB
        add ax, 0x1000
        mov es, ax
        xor bx, bx
        jmp .next

; read_track: ax = count, reading at sector sread+1 of (track, head) into es:bx
read_track:
        push ax
        push bx
        push cx
        push dx
        mov dx, [track]
        mov cx, [sread]
        inc cx                  ; cl = sector
        mov ch, dl              ; ch = cylinder
        mov dx, [head]
        mov dh, dl              ; dh = head
        mov dl, [boot_drive]
        mov ah, 2
        int 0x13
        jc .bad
        pop dx
        pop cx
        pop bx
        pop ax
        ret
.bad:
        mov ax, 0
        mov dl, [boot_drive]
        int 0x13
        pop dx
        pop cx
        pop bx
        pop ax
        jmp read_track

kill_motor:
        push dx
        mov dx, 0x3f2
        mov al, 0
        out dx, al
        pop dx
        ret

sectors:    dw 0
sread:      dw 1 + SETUPLEN     ; sectors of track 0 already read (boot + setup)
head:       dw 0
track:      dw 0
heads:      db 2
boot_drive: db 0

boot_msg:   db 13, 10, "Loading forklab ...", 13, 10, 13, 10
msg_len     equ $ - boot_msg

        times 0x1f4 - ($ - $$) db 0
syssize:    dw SYSSIZE
        times 508 - ($ - $$) db 0
root_dev:   dw 0
boot_flag:  dw 0xAA55
