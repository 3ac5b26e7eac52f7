; kernel/user/ulib.asm — forklab's user-mode "libc": system calls and line output.
; Runs at ring 3 in whatever task calls it; touches only user data (udata_*).
;
; System calls: eax = number, arguments in ebx, ecx, edx; the result comes back in eax
; (negative: -errno); every other register is preserved by the kernel.

%macro SYS 1
        mov eax, %1
        int 0x80
%endmacro

; exit(code) — never returns
%macro EXIT 1
        mov ebx, %1
        SYS __NR_exit
%endmacro

; ---- the line buffer: build one line, write it with a single write(1, ...) ---------------

; ul_str: append the zero-terminated string at esi
ul_str:
        pushad
        mov edi, [ubuf_len]
.lp:    mov al, [esi]
        test al, al
        jz .end
        cmp edi, UBUF_SIZE - 2
        jae .end
        mov [ubuf + edi], al
        inc edi
        inc esi
        jmp .lp
.end:   mov [ubuf_len], edi
        popad
        ret

; ul_char: append al
ul_char:
        push edi
        mov edi, [ubuf_len]
        cmp edi, UBUF_SIZE - 2
        jae .full
        mov [ubuf + edi], al
        inc dword [ubuf_len]
.full:  pop edi
        ret

; ul_dec: append eax as a signed decimal number
ul_dec:
        pushad
        test eax, eax
        jns .pos
        push eax
        mov al, '-'
        call ul_char
        pop eax
        neg eax
.pos:   mov ecx, 10
        xor ebx, ebx
.div:   xor edx, edx
        div ecx
        push edx
        inc ebx
        test eax, eax
        jnz .div
.out:   pop eax
        add al, '0'
        call ul_char
        dec ebx
        jnz .out
        popad
        ret

; ul_hex: append eax as 0x and 8 hex digits
ul_hex:
        pushad
        mov edx, eax
        mov al, '0'
        call ul_char
        mov al, 'x'
        call ul_char
        mov ecx, 8
.lp:    rol edx, 4
        mov eax, edx
        and eax, 0x0f
        mov al, [u_hex_digits + eax]
        call ul_char
        loop .lp
        popad
        ret

; ul_flush: end the line and write it to fd 1
ul_flush:
        pushad
        mov al, 10
        mov edi, [ubuf_len]
        mov [ubuf + edi], al
        inc edi
        mov ebx, 1
        mov ecx, ubuf
        mov edx, edi
        SYS __NR_write
        mov dword [ubuf_len], 0
        popad
        ret

; u_puts: the line at esi, written at once
u_puts:
        call ul_str
        jmp ul_flush

; ---- test reports ------------------------------------------------------------------------

; report_pass: esi = "what"
report_pass:
        push esi
        mov esi, s_pass
        call ul_str
        pop esi
        call ul_str
        call ul_flush
        inc dword [passes]
        ret

; report_fail: esi = "what", edi = "why", eax = a value shown after the reason
report_fail:
        push esi
        mov esi, s_fail
        call ul_str
        pop esi
        call ul_str
        push esi
        mov esi, s_colon
        call ul_str
        mov esi, edi
        call ul_str
        mov esi, s_value
        call ul_str
        call ul_hex
        mov al, ')'
        call ul_char
        pop esi
        call ul_flush
        inc dword [failures]
        ret

; PASS "what" / FAIL "what", "why" (value in eax)
%macro UPASS 1
        jmp %%go
%%what: db %1, 0
%%go:   push esi
        mov esi, %%what
        call report_pass
        pop esi
%endmacro

%macro UFAIL 2
        jmp %%go
%%what: db %1, 0
%%why:  db %2, 0
%%go:   push esi
        push edi
        mov esi, %%what
        mov edi, %%why
        call report_fail
        pop edi
        pop esi
%endmacro

s_pass:       db "PASS ", 0
s_fail:       db "FAIL ", 0
s_colon:      db ": ", 0
s_value:      db " (value ", 0
u_hex_digits: db "0123456789abcdef"
