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

; STAT which: forklab_stat(which) -> eax (the counters of kernel/defs.asm, STAT_*)
%macro STAT 1
        mov ebx, %1
        SYS __NR_forklab_stat
%endmacro

; u_waitpid: waitpid(ebx = pid, &status, 0) -> eax
u_waitpid:
        push ecx
        push edx
        mov ecx, status
        xor edx, edx
        SYS __NR_waitpid
        pop edx
        pop ecx
        ret

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
        PUT_MINUS ul_char
        PUT_DEC ul_char
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
        PUT_HEX ul_char, u_hex_digits
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
; A test starts with TEST "name"; its report lines then carry that name:
;   PASS <name>: <what>
;   FAIL <name>: <why> (value <eax as 0x and 8 hex digits>)
; PASS, FAIL and a failed CHECK, EXPECT, FORK or WAIT_CHILD return from the test (ret), so
; they belong in the test's own frame (the parent's side: a child ends with EXIT).

; report_pass: esi = the test's name, edi = what passed
report_pass:
        mov ecx, s_pass
        call report_head
        call ul_flush
        inc dword [passes]
        ret

; report_fail: esi = the test's name, edi = why, eax = a value shown after the reason
report_fail:
        mov ecx, s_fail
        call report_head
        push esi
        mov esi, s_value
        call ul_str
        pop esi
        call ul_hex
        mov al, ')'
        call ul_char
        call ul_flush
        inc dword [failures]
        ret

; report_head: the start of a report line, "<ecx><esi>: <edi>" ("PASS " name ": " text)
report_head:
        push esi
        mov esi, ecx
        call ul_str
        pop esi
        call ul_str
        push esi
        mov esi, s_colon
        call ul_str
        mov esi, edi
        call ul_str
        pop esi
        ret

; TEST "name": the name of the test that starts here (at its local label .name)
%macro TEST 1
        jmp %%go
.name:  db %1, 0
%%go:
%endmacro

; REPORT routine, "text": report_pass or report_fail with the test's name and the text,
; and the test returns
%macro REPORT 2
        jmp %%go
%%text: db %2, 0
%%go:   mov esi, .name
        mov edi, %%text
        call %1
        ret
%endmacro

; PASS "what": the test's PASS line, and the test returns
%macro PASS 1
        REPORT report_pass, %1
%endmacro

; FAIL "why": the test's FAIL line with eax as the value, and the test returns
%macro FAIL 1
        REPORT report_fail, %1
%endmacro

; CHECK cc, "why": go on when condition cc holds (after a cmp or test), else FAIL "why"
%macro CHECK 2
        j%1 %%ok
        FAIL %2
%%ok:
%endmacro

; EXPECT value, "why": go on when eax == value, else FAIL "why"
%macro EXPECT 2
        cmp eax, %1
        CHECK e, %2
%endmacro

; EXPECT_STATUS value, "why": the same for the status the last waitpid stored
%macro EXPECT_STATUS 2
        mov eax, [status]
        EXPECT %1, %2
%endmacro

; FORK child: fork; the child goes to the label child, the parent goes on with the child's
; pid in edi (fork failed: FAIL "fork failed")
%macro FORK 1
        SYS __NR_fork
        test eax, eax
        jz %1
        CHECK ns, "fork failed"
        mov edi, eax
%endmacro

; WAIT_CHILD: waitpid(edi, &status, 0) must return edi, else FAIL "waitpid returned another pid"
%macro WAIT_CHILD 0
        mov ebx, edi
        call u_waitpid
        EXPECT edi, "waitpid returned another pid"
%endmacro

; CHILD_CHECK cc, code: in a child, go on when condition cc holds, else exit(code): the
; parent reads which check failed from the exit code
%macro CHILD_CHECK 2
        j%1 %%ok
        EXIT %2
%%ok:
%endmacro

s_pass:       db "PASS ", 0
s_fail:       db "FAIL ", 0
s_colon:      db ": ", 0
s_value:      db " (value ", 0
u_hex_digits: db "0123456789abcdef"
