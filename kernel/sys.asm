; kernel/sys.asm — the small system calls, forklab's two debugging calls, and the table.
;
; forklab's own calls (numbers no Linux 0.11 call uses):
;   200 forklab_stat(which): a kernel counter (STAT_* in defs.asm): copy-on-write faults,
;       pages copied, pages made writable without a copy, entries shared by fork, free
;       pages, "mark" (remember the free-page count as the "before" of the statistics),
;       the same three copy-on-write counters for the calling task alone, the number of
;       tasks, and whether there is a coprocessor.
;   201 forklab_poweroff(failures): print the copy-on-write statistics and end the machine
;       through port F4h with status 0 when failures is 0, 1 otherwise.

sys_ni_syscall:
        mov eax, -ENOSYS
        ret

sys_getpid:
        mov eax, [current]
        mov eax, [eax + T_PID]
        ret

sys_getppid:
        mov eax, [current]
        mov eax, [eax + T_FATHER]
        ret

; sys_brk(end_data_seg): accepted when it lies between the end of code and 16 KB below
; the stack; returns the break
sys_brk:
        mov eax, [esp + 4]
        mov edx, [current]
        cmp eax, [edx + T_END_CODE]
        jb .out
        mov ecx, [edx + T_START_STACK]
        sub ecx, 16384
        cmp eax, ecx
        jae .out
        mov [edx + T_BRK], eax
.out:   mov eax, [edx + T_BRK]
        ret

; sys_write(fd, buf, count): fds 1 and 2 are the console
sys_write:
        push esi
        push ebx
        mov eax, [esp + 12]
        cmp eax, 1
        je .tty
        cmp eax, 2
        je .tty
.inval: mov eax, -EINVAL
        jmp .out
.tty:   mov esi, [esp + 16]             ; buf (in the caller's data segment, through fs)
        mov ebx, [esp + 20]             ; count
        test ebx, ebx
        js .inval
        jz .done
        mov ecx, USER_DS
        lsl edx, ecx                    ; the segment's last byte
        mov eax, esi
        add eax, ebx
        jc .fault
        dec eax
        cmp eax, edx
        ja .fault
        xor ecx, ecx
.lp:    mov al, [fs:esi + ecx]
        call con_putc
        inc ecx
        cmp ecx, ebx
        jb .lp
.done:  mov eax, ebx
        jmp .out
.fault: mov eax, -EFAULT
.out:   pop ebx
        pop esi
        ret

sys_forklab_stat:
        mov eax, [esp + 4]
        cmp eax, STAT_WP_FAULTS
        jne .s1
        mov eax, [cow_faults]
        ret
.s1:     cmp eax, STAT_COPIES
        jne .s2
        mov eax, [cow_copies]
        ret
.s2:     cmp eax, STAT_NOCOPY
        jne .s3
        mov eax, [cow_nocopy]
        ret
.s3:     cmp eax, STAT_SHARED
        jne .s4
        mov eax, [cow_shared]
        ret
.s4:     cmp eax, STAT_FREE_PAGES
        jne .s5
        jmp nr_free_pages
.s5:     cmp eax, STAT_MARK
        jne .s6
        call nr_free_pages
        mov [free_pages_before], eax
        mov byte [free_pages_marked], 1
        ret
.s6:     cmp eax, STAT_NO_PAGE
        jne .s16
        mov eax, [no_page_faults]
        ret
.s16:    mov edx, [current]
        cmp eax, STAT_MY_FAULTS
        jne .s17
        mov eax, [edx + T_COW_FAULTS]
        ret
.s17:    cmp eax, STAT_MY_COPIES
        jne .s18
        mov eax, [edx + T_COW_COPIES]
        ret
.s18:    cmp eax, STAT_MY_NOCOPY
        jne .s19
        mov eax, [edx + T_COW_NOCOPY]
        ret
.s19:    cmp eax, STAT_NR_TASKS
        jne .s20
        xor eax, eax
        xor ecx, ecx
.count: cmp dword [task + ecx*4], 0
        je .count_next
        inc eax
.count_next:
        inc ecx
        cmp ecx, NR_TASKS
        jb .count
        ret
.s20:   cmp eax, STAT_HAVE_FPU
        jne .bad
        movzx eax, byte [have_fpu]
        ret
.bad:   mov eax, -EINVAL
        ret

sys_forklab_poweroff:
        call print_cow_statistics
        mov eax, [esp + 4]
        test eax, eax
        jnz .failed
        PRINTLN "forklab: every check passed, powering off"
        xor eax, eax
        jmp power_off
.failed:
        call print_dec
        PRINTLN " check(s) failed, powering off"
        mov eax, 1
        ; fall through

; power_off(al = status): QEMU's isa-debug-exit (port F4h) ends the emulator with exit
; status (al << 1) | 1; on a machine without it, stop here
power_off:
        out 0xf4, al
        cli
.halt:  hlt
        jmp .halt

print_cow_statistics:
        PRINTLN "copy-on-write statistics:"
        PRINT "  timer ticks since boot (100 Hz):    "
        mov eax, [jiffies]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  forks:                              "
        mov eax, [total_forks]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  write-protect faults:               "
        mov eax, [cow_faults]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  pages copied:                       "
        mov eax, [cow_copies]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  pages made writable without a copy: "
        mov eax, [cow_nocopy]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  of those, un-shared by verify_area: "
        mov eax, [cow_verify]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  page entries shared by fork:        "
        mov eax, [cow_shared]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  missing pages mapped (do_no_page):  "
        mov eax, [no_page_faults]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  free pages before:                  "
        mov eax, [free_pages_before]
        call print_dec
        mov al, 10
        call con_putc
        PRINT "  free pages after:                   "
        call nr_free_pages
        call print_dec
        mov al, 10
        call con_putc
        ret

free_pages_before: dd 0
free_pages_marked: db 0

; the system-call table: Linux 0.11's numbers; what forklab does not implement answers
; -ENOSYS; numbers beyond the table get -1 from system_call itself
        align 4
sys_call_table:
        dd sys_ni_syscall               ; 0 setup
        dd sys_exit                     ; 1 exit
        dd sys_fork                     ; 2 fork
        dd sys_ni_syscall               ; 3 read
        dd sys_write                    ; 4 write
        times 7 - 5 dd sys_ni_syscall   ; 5 open, 6 close
        dd sys_waitpid                  ; 7 waitpid
        times 20 - 8 dd sys_ni_syscall  ; 8 creat .. 19 lseek
        dd sys_getpid                   ; 20 getpid
        times 29 - 21 dd sys_ni_syscall ; 21 mount .. 28 fstat
        dd sys_pause                    ; 29 pause
        times 37 - 30 dd sys_ni_syscall ; 30 utime .. 36 sync
        dd sys_kill                     ; 37 kill
        times 45 - 38 dd sys_ni_syscall ; 38 rename .. 44 prof
        dd sys_brk                      ; 45 brk
        times 64 - 46 dd sys_ni_syscall ; 46 setgid .. 63 dup2
        dd sys_getppid                  ; 64 getppid
        times 200 - 65 dd sys_ni_syscall ; 65 getpgrp .. 71 setregid, then nothing
        dd sys_forklab_stat             ; 200
        dd sys_forklab_poweroff         ; 201
sys_call_table_end:
        times (NR_SYSCALLS * 4) - (sys_call_table_end - sys_call_table) db 0
        times (sys_call_table_end - sys_call_table) - (NR_SYSCALLS * 4) db 0
