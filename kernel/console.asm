; kernel/console.asm — VGA text console mirrored to COM1, and the kernel's print routines.
;
; The screen scrolls as Linux 0.11's does: the displayed window starts at `origin` and
; moves down one row per scroll inside video memory (CRTC registers 12/13); when it
; reaches the end of video memory, the visible rows are copied back to the start.
; Every character also goes to COM1 (0x3F8, polled on LSR bit 5), with "\n" sent as
; "\r\n", so a machine with no display shows the same text.

VIDEO_COLS      equ 80
VIDEO_LINES     equ 25
VIDEO_ROW       equ VIDEO_COLS * 2
COM1            equ 0x3f8

con_init:
        push ebx
        movzx eax, byte [ORIG_VIDEO_MODE]
        cmp al, 7
        jne .colour
        mov dword [video_mem_start], 0xb0000
        mov dword [video_mem_end], 0xb8000
        mov word [video_port_reg], 0x3b4
        mov word [video_port_val], 0x3b5
        jmp .set
.colour:
        mov dword [video_mem_start], 0xb8000
        mov dword [video_mem_end], 0xbc000
        mov word [video_port_reg], 0x3d4
        mov word [video_port_val], 0x3d5
.set:
        mov eax, [video_mem_start]
        mov [origin], eax
        add eax, VIDEO_LINES * VIDEO_ROW
        mov [scr_end], eax
        movzx eax, byte [ORIG_CURSOR]   ; column
        movzx ebx, byte [ORIG_CURSOR+1] ; row
        cmp eax, VIDEO_COLS
        jb .x_ok
        xor eax, eax
.x_ok:  cmp ebx, VIDEO_LINES
        jb .y_ok
        mov ebx, VIDEO_LINES - 1
.y_ok:  mov [con_x], eax
        mov [con_y], ebx
        imul ebx, ebx, VIDEO_ROW
        lea eax, [ebx + eax*2]
        add eax, [origin]
        mov [con_pos], eax
        call set_origin
        call set_cursor
        call serial_init
        pop ebx
        ret

serial_init:
        mov dx, COM1 + 1
        mov al, 0
        out dx, al              ; no interrupts
        mov dx, COM1 + 3
        mov al, 0x80
        out dx, al              ; DLAB
        mov dx, COM1
        mov al, 1
        out dx, al              ; divisor 1: 115200 baud
        mov dx, COM1 + 1
        mov al, 0
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x03
        out dx, al              ; 8N1
        mov dx, COM1 + 2
        mov al, 0x07
        out dx, al              ; FIFO on, cleared
        mov dx, COM1 + 4
        mov al, 0x03
        out dx, al              ; DTR, RTS
        mov dx, COM1 + 5
        in al, dx
        cmp al, 0xff            ; floating bus: no UART
        setne [serial_present]
        ret

; serial_putc: al = byte. Polls LSR bit 5 (transmit holding register empty), bounded.
serial_putc:
        cmp byte [serial_present], 0
        je .out
        push ecx
        push edx
        push eax
        mov dx, COM1 + 5
        mov ecx, 100000
.wait:  in al, dx
        test al, 0x20
        jnz .ready
        loop .wait
.ready: pop eax
        mov dx, COM1
        out dx, al
        pop edx
        pop ecx
.out:   ret

; set_origin: the display starts at origin (CRTC registers 12, 13). Preserves every register.
set_origin:
        push eax
        push ecx
        mov ecx, [origin]
        mov ah, 12
        jmp crtc_address

; set_cursor: the cursor at con_pos (CRTC registers 14, 15). Preserves every register.
set_cursor:
        push eax
        push ecx
        mov ecx, [con_pos]
        mov ah, 14
; crtc_address: the video address ecx, as a character offset from video_mem_start, into
; CRTC register ah (high byte) and ah+1 (low byte); then the eax and ecx its two entries
; above saved come back
crtc_address:
        push edx
        sub ecx, [video_mem_start]
        shr ecx, 1
        mov dx, [video_port_reg]
        mov al, ah
        out dx, al
        mov dx, [video_port_val]
        mov al, ch
        out dx, al
        mov dx, [video_port_reg]
        mov al, ah
        inc al
        out dx, al
        mov dx, [video_port_val]
        mov al, cl
        out dx, al
        pop edx
        pop ecx
        pop eax
        ret

; scrup: the text moves up one row; the cursor stays on its row
scrup:
        pushad
        cld
        mov eax, [scr_end]
        add eax, VIDEO_ROW
        cmp eax, [video_mem_end]
        ja .wrap
        add dword [origin], VIDEO_ROW
        add dword [scr_end], VIDEO_ROW
        add dword [con_pos], VIDEO_ROW
        jmp .clear
.wrap:  mov esi, [origin]
        add esi, VIDEO_ROW
        mov edi, [video_mem_start]
        mov ecx, (VIDEO_LINES - 1) * VIDEO_ROW / 4
        rep movsd
        mov eax, [origin]
        sub eax, [video_mem_start]
        sub [con_pos], eax
        mov eax, [video_mem_start]
        mov [origin], eax
        add eax, VIDEO_LINES * VIDEO_ROW
        mov [scr_end], eax
.clear: mov edi, [scr_end]
        sub edi, VIDEO_ROW
        mov ecx, VIDEO_COLS
        mov ax, 0x0720
        rep stosw
        call set_origin
        popad
        ret

; con_lf: next row, scrolling at the bottom
con_lf:
        mov eax, [con_y]
        inc eax
        cmp eax, VIDEO_LINES
        jae .scroll
        mov [con_y], eax
        add dword [con_pos], VIDEO_ROW
        ret
.scroll:
        jmp scrup

con_cr:
        mov eax, [con_x]
        shl eax, 1
        sub [con_pos], eax
        mov dword [con_x], 0
        ret

; con_putc: al = character, to the screen and COM1. Preserves every register.
con_putc:
        pushad
        cmp al, 10
        jne .not_nl
        mov al, 13
        call serial_putc
        mov al, 10
        call serial_putc
        call con_cr
        call con_lf
        jmp .done
.not_nl:
        call serial_putc
        cmp al, 13
        jne .not_cr
        call con_cr
        jmp .done
.not_cr:
        cmp al, 8
        jne .not_bs
        cmp dword [con_x], 0
        je .done
        dec dword [con_x]
        sub dword [con_pos], 2
        jmp .done
.not_bs:
        cmp al, 9
        jne .print
.tab:   mov al, ' '
        call .put
        test dword [con_x], 7
        jnz .tab
        jmp .done
.print: call .put
.done:  call set_cursor
        popad
        ret
; .put: al = printable character at the cursor, wrapping at the end of a row
.put:   cmp dword [con_x], VIDEO_COLS
        jb .room
        push eax
        call con_cr
        call con_lf
        pop eax
.room:  mov edi, [con_pos]
        mov ah, 0x07
        mov [edi], ax
        add dword [con_pos], 2
        inc dword [con_x]
        ret

; ---- print routines (all preserve every register) ---------------------------------------

; print_str: esi = zero-terminated string
print_str:
        push esi
        push eax
.lp:    mov al, [esi]
        test al, al
        jz .end
        call con_putc
        inc esi
        jmp .lp
.end:   pop eax
        pop esi
        ret

; print_hex: eax as 8 hex digits
print_hex:
        push eax
        push ecx
        push edx
        mov edx, eax
        mov ecx, 8
.digits:
        PUT_HEX con_putc, hex_digits
        pop edx
        pop ecx
        pop eax
        ret

; print_hex4: ax as 4 hex digits
print_hex4:
        push eax
        push ecx
        push edx
        mov edx, eax
        shl edx, 16
        mov ecx, 4
        jmp print_hex.digits

; print_far: the far pointer at [eax] (a 32-bit offset, then a selector) as ssss:oooooooo
print_far:
        push edx
        mov edx, eax
        movzx eax, word [edx + 4]
        call print_hex4
        mov al, ':'
        call con_putc
        mov eax, [edx]
        call print_hex
        mov eax, edx
        pop edx
        ret

; print_dec: eax as an unsigned decimal number
print_dec:
        pushad
        PUT_DEC con_putc
        popad
        ret

; print_sdec: eax as a signed decimal number
print_sdec:
        push eax
        PUT_MINUS con_putc
        call print_dec
        pop eax
        ret

; printk(const char *s): the C-style entry (argument on the stack, cdecl)
printk:
        push esi
        mov esi, [esp+8]
        call print_str
        pop esi
        ret

; panic(const char *s): say why and stop the machine (isa-debug-exit status 3, then hlt)
panic:
        cli
        mov al, 10
        call con_putc
        PRINT "Kernel panic: "
        mov esi, [esp+4]
        call print_str
        mov al, 10
        call con_putc
        mov al, 3
        out 0xf4, al
.halt:  hlt
        jmp .halt


hex_digits:     db "0123456789abcdef"
video_mem_start: dd 0xb8000
video_mem_end:  dd 0xbc000
video_port_reg: dw 0x3d4
video_port_val: dw 0x3d5
origin:         dd 0xb8000
scr_end:        dd 0xb8000 + VIDEO_LINES * VIDEO_ROW
con_pos:        dd 0xb8000
con_x:          dd 0
con_y:          dd 0
serial_present: db 0
