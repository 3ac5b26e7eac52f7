; kernel/main.asm — main: memory, traps, scheduler, then task 0 in user mode.
;
; Task 0 and init (task 1) run code that lives in this image, at ring 3, through their
; LDTs: task 0's segments have base 0 and a 640 KB limit, so it sees the image at the
; same offsets as the kernel; init, and every process after it, has its own 64 MB slot
; and sees the same code and data at the same offsets, through page tables that
; copy_page_tables made to share task 0's pages read-only.

main:
        call con_init
        PRINTLN "forklab: protected mode, paging on, 16 MB mapped at 0"
        cmp byte [a20_failed], 0
        je .a20_ok
        PANIC "A20 is off: memory at 1 MB wraps to 0"
.a20_ok:
        movzx eax, word [EXT_MEM_K]     ; memory_end = 1 MB + extended memory, at most 16 MB
        shl eax, 10
        add eax, 0x100000
        and eax, 0xfffff000
        cmp eax, MAX_MEMORY
        jbe .mem_ok
        mov eax, MAX_MEMORY
.mem_ok:
        mov [memory_end], eax
        mov dword [main_memory_start], LOW_MEM  ; no buffer cache, no RAM disk
        push eax
        push dword [main_memory_start]
        call mem_init
        add esp, 8
        PRINT "memory: "
        mov eax, [memory_end]
        shr eax, 10
        call print_dec
        PRINT " KB, "
        call nr_free_pages
        call print_dec
        PRINT " free pages; FPU: "
        cmp byte [have_fpu], 0
        je .no_fpu
        PRINTLN "387"
        jmp .fpu_said
.no_fpu:
        PRINTLN "none (CR0.EM)"
.fpu_said:
%ifdef CONSOLE_SELFTEST                 ; a test build: enough lines to wrap video memory
        xor ecx, ecx
.lines: PRINT "console line "
        mov eax, ecx
        call print_dec
        mov al, 10
        call con_putc
        inc ecx
        cmp ecx, 150
        jb .lines
        PRINTLN "console self-test done"
        cli
.stop:  hlt
        jmp .stop
%endif
        call trap_init
        call sched_init
        sti
        call move_to_user_mode
; ---- task 0, ring 3 from here on. Until init has its own copies, task 0 must not write
; to its stack or data (init would see the writes): int 0x80 does not touch them.
task0_user:
        mov eax, __NR_fork
        int 0x80
        test eax, eax
        jnz task0_idle
        jmp init
task0_idle:
        mov eax, __NR_pause             ; nothing else to run: task 0 loops here
        int 0x80
        jmp task0_idle

; move_to_user_mode: iret to ring 3 (cs 0x0f, ss 0x17) with the current stack, and return
; to the caller there
move_to_user_mode:
        pop edx                         ; where to continue
        mov eax, esp
        push USER_DS                    ; ss
        push eax                        ; esp
        pushfd
        push USER_CS                    ; cs
        push edx                        ; eip
        DATA_SEGMENTS USER_DS
        iret

memory_end:        dd 0
main_memory_start: dd 0
