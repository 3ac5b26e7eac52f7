; kernel/user/init.asm — init (task 1) and the demo's test programs, at ring 3.
;
; Every test prints one line, "PASS <what>" or "FAIL <what>: <why> (value ...)". Children
; report to their parent through their exit code. At the end init asks the kernel to print
; the copy-on-write statistics and power off (status 0 when every check passed).

UBUF_SIZE   equ 256
CHAIN_DEPTH equ 8
SEQ_FORKS   equ 1000

init:
        ; own copies of every data page and of the stack page first, so that the
        ; free-page count taken now is the one every test must give back
        mov esi, udata_start
.touch: mov al, [esi]
        mov [esi], al
        add esi, PAGE_SIZE
        cmp esi, udata_end
        jb .touch
        push eax
        pop eax
        mov ebx, STAT_MARK
        SYS __NR_forklab_stat
        mov [free_start], eax
        SYS __NR_getpid
        mov esi, s_init_hello
        call ul_str
        call ul_dec
        mov esi, s_init_free
        call ul_str
        mov eax, [free_start]
        call ul_dec
        call ul_flush

        call t_fork_pids
        call t_fork_cow
        call t_chain
        call t_tree
        call t_eagain
        call t_seq
        call t_last_sharer
        call t_verify_area
        call t_fault_kill
        call t_trap_kill
        call t_waitpid_echild
        call t_waitpid_wnohang
        call t_unknown_syscall
        call t_brk
        call t_fpu
        call t_pages_returned

        mov esi, s_init_done
        call ul_str
        mov eax, [passes]
        call ul_dec
        mov esi, s_init_failed
        call ul_str
        mov eax, [failures]
        call ul_dec
        call ul_flush
        mov ebx, [failures]
        SYS __NR_forklab_poweroff
.hang:  jmp .hang

s_init_hello:  db "init: pid ", 0
s_init_free:   db ", free pages ", 0
s_init_done:   db "init: ", 0
s_init_failed: db " passed, failed: ", 0

; waitpid(ebx = pid, status, 0) -> eax
u_waitpid:
        push ecx
        push edx
        mov ecx, status
        xor edx, edx
        SYS __NR_waitpid
        pop edx
        pop ecx
        ret

; stat(ebx = which) -> eax
%macro STAT 1
        mov ebx, %1
        SYS __NR_forklab_stat
%endmacro

; ---- fork returns the child's pid to the parent, 0 to the child -------------------------
t_fork_pids:
        SYS __NR_getpid
        mov [my_pid], eax
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [status]
        mov ecx, edi
        and ecx, 0x7f
        shl ecx, 8
        cmp eax, ecx
        jne .bad_status
        UPASS "fork-pids: fork returned the child's pid to the parent and 0 to the child; the child's getppid is the parent"
        ret
.fork_failed:
        UFAIL "fork-pids", "fork failed"
        ret
.bad_wait:
        UFAIL "fork-pids", "waitpid returned another pid"
        ret
.bad_status:
        UFAIL "fork-pids", "status is not (child pid & 0x7f) << 8"
        ret
.child: SYS __NR_getppid
        cmp eax, [my_pid]
        jne .child_bad
        SYS __NR_getpid
        cmp eax, [my_pid]
        je .child_bad
        mov ebx, eax
        and ebx, 0x7f
        SYS __NR_exit
.child_bad:
        EXIT 0xff

; ---- parent and child write the same variable ------------------------------------------
t_fork_cow:
        mov dword [cow_var], 1000
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov dword [cow_var], 2222
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [cow_var]
        cmp eax, 2222
        jne .parent_bad
        mov eax, [status]
        test eax, eax
        jnz .child_failed
        UPASS "fork-cow: parent and child each see their own value of one variable; the child's first write cost one fault"
        ret
.fork_failed:
        UFAIL "fork-cow", "fork failed"
        ret
.bad_wait:
        UFAIL "fork-cow", "waitpid returned another pid"
        ret
.parent_bad:
        UFAIL "fork-cow", "the parent's variable changed"
        ret
.child_failed:
        UFAIL "fork-cow", "child check failed (1 pre-fork value, 2 faults, 3 copies, 4 value lost)"
        ret
.child: STAT STAT_MY_FAULTS
        mov esi, eax
        STAT STAT_MY_COPIES
        mov edi, eax
        STAT STAT_MY_NOCOPY
        add edi, eax                    ; copies + no-copy: one of them must move
        cmp dword [cow_var], 1000
        jne .c1
        mov dword [cow_var], 1111       ; the write fault
        STAT STAT_MY_FAULTS
        sub eax, esi
        cmp eax, 1
        jne .c2
        STAT STAT_MY_COPIES
        mov esi, eax
        STAT STAT_MY_NOCOPY
        add eax, esi
        sub eax, edi
        cmp eax, 1
        jne .c3
        mov ecx, 300000                 ; the parent writes its value meanwhile
.spin:  cmp dword [cow_var], 1111
        jne .c4
        loop .spin
        EXIT 0
.c1:    EXIT 1
.c2:    EXIT 2
.c3:    EXIT 3
.c4:    EXIT 4

; ---- a chain: each generation forks the next and exits with the child's code + 1 -------
t_chain:
        xor esi, esi                    ; generation
.level: SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [status]
        shr eax, 8
        test esi, esi
        jnz .middle
        cmp eax, CHAIN_DEPTH
        jne .bad_code
        UPASS "fork-chain: 8 generations of fork, each waitpid collected its child's exit code"
        ret
.middle:
        inc eax
        mov ebx, eax
        SYS __NR_exit
.child: inc esi
        cmp esi, CHAIN_DEPTH
        jb .level
        EXIT 1
.fork_failed:
        test esi, esi
        jnz .in_child
        UFAIL "fork-chain", "fork failed"
        ret
.bad_wait:
        test esi, esi
        jnz .in_child
        UFAIL "fork-chain", "waitpid returned another pid"
        ret
.bad_code:
        UFAIL "fork-chain", "exit code of the chain is not 8"
        ret
.in_child:
        EXIT 0xf0

; ---- a tree: 3 children, each with 2 children of its own --------------------------------
t_tree:
        mov esi, 1                      ; child number i
.fork_child:
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        inc esi
        cmp esi, 3
        jbe .fork_child
        mov edi, 3
        xor ebp, ebp                    ; sum of the codes
.collect:
        mov ebx, -1
        call u_waitpid
        test eax, eax
        jle .bad_wait
        mov eax, [status]
        shr eax, 8
        add ebp, eax
        dec edi
        jnz .collect
        mov ebx, -1
        call u_waitpid
        cmp eax, -ECHILD
        jne .not_echild
        mov eax, ebp
        cmp eax, 33                     ; sum over i=1..3 of i + 2i + (2i+1)
        jne .bad_sum
        UPASS "fork-tree: 3 children with 2 children each, waitpid(-1) collected all 9 exit codes, then -ECHILD"
        ret
.fork_failed:
        UFAIL "fork-tree", "fork failed"
        ret
.bad_wait:
        UFAIL "fork-tree", "waitpid(-1) failed"
        ret
.not_echild:
        UFAIL "fork-tree", "a 4th waitpid(-1) did not return -ECHILD"
        ret
.bad_sum:
        UFAIL "fork-tree", "the exit codes do not add up to 33"
        ret
.child: xor edi, edi                    ; grandchild number j
.gfork: SYS __NR_fork
        test eax, eax
        jz .grandchild
        js .child_failed
        inc edi
        cmp edi, 2
        jb .gfork
        mov ebp, esi
        mov edi, 2
.gcollect:
        mov ebx, -1
        call u_waitpid
        test eax, eax
        jle .child_failed
        mov eax, [status]
        shr eax, 8
        add ebp, eax
        dec edi
        jnz .gcollect
        mov ebx, -1
        call u_waitpid
        cmp eax, -ECHILD
        jne .child_failed
        mov ebx, ebp
        SYS __NR_exit
.child_failed:
        EXIT 0xc0
.grandchild:
        lea ebx, [esi*2 + edi]
        SYS __NR_exit

; ---- fork until the task table is full ----------------------------------------------------
t_eagain:
        xor esi, esi                    ; children so far
.lp:    SYS __NR_fork
        test eax, eax
        jz .child
        js .full
        mov [pids + esi*4], eax
        inc esi
        cmp esi, NR_TASKS
        jb .lp
        mov [e_err], eax
        jmp .killall
.child: SYS __NR_pause                  ; wait for SIGKILL
        jmp .child
.full:  mov [e_err], eax
.killall:
        mov [e_count], esi
        STAT STAT_NR_TASKS
        mov [e_alive], eax
        xor edi, edi
.kill:  cmp edi, esi
        jae .reap
        mov ebx, [pids + edi*4]
        mov ecx, SIGKILL
        SYS __NR_kill
        inc edi
        jmp .kill
.reap:  mov dword [e_badstat], 0
        mov dword [e_reaped], 0
.reap_one:
        mov eax, [e_reaped]
        cmp eax, [e_count]
        jae .reaped
        mov ebx, -1
        call u_waitpid
        test eax, eax
        jle .reaped
        inc dword [e_reaped]
        cmp dword [status], 1 << (SIGKILL - 1 + 0)  ; SIG_DFL: do_exit(1 << (signr-1))
        je .reap_one
        inc dword [e_badstat]
        jmp .reap_one
.reaped:
        mov ebx, -1
        call u_waitpid
        mov [e_last], eax
        mov eax, [e_err]
        cmp eax, -EAGAIN
        jne .not_eagain
        mov eax, [e_count]
        cmp eax, NR_TASKS - 2
        jne .bad_count
        mov eax, [e_alive]
        cmp eax, NR_TASKS
        jne .bad_alive
        mov eax, [e_reaped]
        cmp eax, [e_count]
        jne .bad_reaped
        mov eax, [e_badstat]
        test eax, eax
        jnz .bad_status
        mov eax, [e_last]
        cmp eax, -ECHILD
        jne .not_echild
        UPASS "fork-eagain: 62 children filled the 64-slot task table, the next fork got -EAGAIN; SIGKILL and waitpid reaped them all"
        ret
.not_eagain:
        UFAIL "fork-eagain", "fork failed with something else than -EAGAIN"
        ret
.bad_count:
        UFAIL "fork-eagain", "number of children is not 62"
        ret
.bad_alive:
        UFAIL "fork-eagain", "tasks in the table is not 64"
        ret
.bad_reaped:
        UFAIL "fork-eagain", "could not reap every child"
        ret
.bad_status:
        UFAIL "fork-eagain", "children with a status other than 0x100"
        ret
.not_echild:
        UFAIL "fork-eagain", "after reaping, waitpid did not return -ECHILD"
        ret

; ---- 1000 times fork, exit, wait ----------------------------------------------------------
t_seq:
        STAT STAT_FREE_PAGES
        mov [seq_free0], eax
        xor esi, esi
.lp:    SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, esi
        and eax, 0xff
        shl eax, 8
        cmp eax, [status]
        jne .bad_status
        inc esi
        cmp esi, SEQ_FORKS
        jb .lp
        STAT STAT_FREE_PAGES
        cmp eax, [seq_free0]
        jne .leak
        UPASS "fork-1000: 1000 sequential fork/exit/waitpid, every exit code right, free pages unchanged"
        ret
.child: mov ebx, esi
        and ebx, 0xff
        SYS __NR_exit
.fork_failed:
        UFAIL "fork-1000", "fork failed"
        ret
.bad_wait:
        UFAIL "fork-1000", "waitpid returned another pid"
        ret
.bad_status:
        mov eax, esi
        UFAIL "fork-1000", "wrong exit status at iteration"
        ret
.leak:  sub eax, [seq_free0]
        UFAIL "fork-1000", "free pages changed by"
        ret

; ---- the last sharer writes: the page is made writable, not copied ---------------------
t_last_sharer:
        mov dword [ls_page], 1          ; init's own page
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid                  ; the child is gone: the page's count is 1 again
        cmp eax, edi
        jne .bad_wait
        STAT STAT_MY_FAULTS
        mov esi, eax
        STAT STAT_MY_COPIES
        mov edi, eax
        STAT STAT_MY_NOCOPY
        mov ebp, eax
        mov dword [ls_page], 2          ; read-only since the fork: one fault
        STAT STAT_MY_FAULTS
        sub eax, esi
        cmp eax, 1
        jne .bad_faults
        STAT STAT_MY_COPIES
        sub eax, edi
        jnz .copied
        STAT STAT_MY_NOCOPY
        sub eax, ebp
        cmp eax, 1
        jne .bad_nocopy
        cmp dword [ls_page], 2
        jne .lost
        UPASS "cow-last-sharer: after the other sharer exited, a write fault made the page writable without a copy"
        ret
.child: EXIT 0
.fork_failed:
        UFAIL "cow-last-sharer", "fork failed"
        ret
.bad_wait:
        UFAIL "cow-last-sharer", "waitpid returned another pid"
        ret
.bad_faults:
        UFAIL "cow-last-sharer", "write faults counted"
        ret
.copied:
        UFAIL "cow-last-sharer", "pages copied"
        ret
.bad_nocopy:
        UFAIL "cow-last-sharer", "pages made writable"
        ret
.lost:  UFAIL "cow-last-sharer", "the written value is not there"
        ret

; ---- the kernel writes into a shared page: verify_area must copy it first ---------------
t_verify_area:
        mov dword [va_page], 0x55555555
        mov dword [va_page + 4], 0x12345678
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [va_page]              ; first: did the kernel write into our page?
        cmp eax, 0x55555555
        jne .leaked
        mov eax, [status]
        test eax, eax
        jnz .child_failed
        UPASS "verify-area: waitpid wrote the status into the child's own copy of a shared page, the parent's page is untouched"
        ret
.fork_failed:
        UFAIL "verify-area", "fork failed"
        ret
.bad_wait:
        UFAIL "verify-area", "waitpid returned another pid"
        ret
.child_failed:
        UFAIL "verify-area", "child check failed (0x100 fork, 0x200 wait, 0x300 status, 0x400 copy, 0x500 counter)"
        ret
.leaked:
        UFAIL "verify-area", "the kernel's write reached the parent's page"
        ret
.child: SYS __NR_fork
        test eax, eax
        jz .grandchild
        js .c1
        mov edi, eax
        STAT STAT_MY_COPIES
        mov esi, eax
        mov ebx, edi
        mov ecx, va_page                ; stat_addr: a read-only, shared page
        xor edx, edx
        SYS __NR_waitpid
        cmp eax, edi
        jne .c2
        cmp dword [va_page], 42 << 8
        jne .c3
        cmp dword [va_page + 4], 0x12345678
        jne .c4
        STAT STAT_MY_COPIES
        sub eax, esi
        cmp eax, 1
        jne .c5
        EXIT 0
.c1:    EXIT 1
.c2:    EXIT 2
.c3:    EXIT 3
.c4:    EXIT 4
.c5:    EXIT 5
.grandchild:
        EXIT 42

; ---- a user write to a kernel address kills only the writer -----------------------------
t_fault_kill:
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [status]
        cmp eax, SIGSEGV
        jne .bad_status
        STAT STAT_NR_TASKS
        cmp eax, 2
        jne .bad_tasks
        UPASS "fault-kill: a user write to 0x100000 (kernel memory, beyond the 640 KB segment) killed only that task, status 11"
        ret
.child: mov esi, s_fault_expect
        call u_puts
        mov dword [0x100000], 0xdeadbeef
        EXIT 0
.fork_failed:
        UFAIL "fault-kill", "fork failed"
        ret
.bad_wait:
        UFAIL "fault-kill", "waitpid returned another pid"
        ret
.bad_status:
        UFAIL "fault-kill", "status is not 11"
        ret
.bad_tasks:
        UFAIL "fault-kill", "tasks alive is not 2 (task 0, init)"
        ret
s_fault_expect: db "fault-kill: the child now writes to 0x100000; an oops follows", 0

; ---- exceptions from user mode: divide error (no error code), #GP on loading the kernel's
; data selector (error code 0x10); each prints an oops and ends only its task ----------
t_trap_kill:
        mov esi, s_trap_expect
        call u_puts
        SYS __NR_fork
        test eax, eax
        jz .divide
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [status]
        cmp eax, SIGSEGV
        jne .bad_divide
        SYS __NR_fork
        test eax, eax
        jz .selector
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [status]
        cmp eax, SIGSEGV
        jne .bad_selector
        STAT STAT_NR_TASKS
        cmp eax, 2
        jne .bad_tasks
        UPASS "trap-kill: a divide by zero and a load of the kernel's data selector each killed only their task, status 11"
        ret
.divide:
        xor edx, edx
        xor ecx, ecx
        mov eax, 1
        div ecx
        EXIT 0
.selector:
        mov eax, KERNEL_DS
        mov es, ax
        EXIT 0
.fork_failed:
        UFAIL "trap-kill", "fork failed"
        ret
.bad_wait:
        UFAIL "trap-kill", "waitpid returned another pid"
        ret
.bad_divide:
        UFAIL "trap-kill", "status after a divide by zero"
        ret
.bad_selector:
        UFAIL "trap-kill", "status after loading selector 0x10"
        ret
.bad_tasks:
        UFAIL "trap-kill", "tasks alive is not 2 (task 0, init)"
        ret
s_trap_expect: db "trap-kill: two children now divide by zero and load selector 0x10; two oopses follow", 0

; ---- waitpid without children, and with WNOHANG -----------------------------------------
t_waitpid_echild:
        mov ebx, -1
        call u_waitpid
        cmp eax, -ECHILD
        jne .bad
        mov ebx, -1                     ; a status address beyond the 640 KB segment
        mov ecx, 0x100000
        xor edx, edx
        SYS __NR_waitpid
        cmp eax, -EFAULT
        jne .bad_fault
        UPASS "waitpid-echild: waitpid(-1) with no children returned -ECHILD (-10); a status address outside the segment -EFAULT"
        ret
.bad:   UFAIL "waitpid-echild", "waitpid returned"
        ret
.bad_fault:
        UFAIL "waitpid-echild", "waitpid(-1, 0x100000, 0) returned"
        ret

t_waitpid_wnohang:
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        mov ecx, status
        mov edx, WNOHANG
        SYS __NR_waitpid
        mov esi, eax
        mov ebx, edi
        mov ecx, SIGKILL
        SYS __NR_kill
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, esi
        test eax, eax
        jnz .bad_nohang
        mov eax, [status]
        cmp eax, 1 << (SIGKILL - 1)
        jne .bad_status
        UPASS "waitpid-wnohang: WNOHANG with a live child returned 0; after SIGKILL waitpid got status 0x100"
        ret
.child: SYS __NR_pause
        jmp .child
.fork_failed:
        UFAIL "waitpid-wnohang", "fork failed"
        ret
.bad_wait:
        UFAIL "waitpid-wnohang", "waitpid returned another pid"
        ret
.bad_nohang:
        UFAIL "waitpid-wnohang", "WNOHANG returned"
        ret
.bad_status:
        UFAIL "waitpid-wnohang", "status after SIGKILL"
        ret

; ---- system calls that do not exist ----------------------------------------------------
t_unknown_syscall:
        mov eax, 1000
        int 0x80
        cmp eax, -1
        jne .beyond
        mov eax, 0xffffffff
        int 0x80
        cmp eax, -1
        jne .beyond
        mov eax, 100
        int 0x80
        cmp eax, -ENOSYS
        jne .ni
        UPASS "syscall-unknown: eax beyond the table returned -1 (as Linux 0.11), a number without a call -ENOSYS"
        ret
.beyond:
        UFAIL "syscall-unknown", "eax beyond the table returned"
        ret
.ni:    UFAIL "syscall-unknown", "an unimplemented call returned"
        ret

; ---- brk -----------------------------------------------------------------------------------
; init inherits task 0's brk fields (end_code 0, start_stack 0): any break below
; start_stack - 16 KB (which wraps to 0xffffc000) is accepted
t_brk:
        mov ebx, 0x60000
        SYS __NR_brk
        cmp eax, 0x60000
        jne .moved
        mov ebx, 0xfffff000
        SYS __NR_brk
        cmp eax, 0x60000
        jne .refused
        UPASS "brk: brk(0x60000) returned the new break; brk(0xfffff000), within 16 KB of the stack start, kept it"
        ret
.moved: UFAIL "brk", "brk(0x60000) returned"
        ret
.refused:
        UFAIL "brk", "brk(0xfffff000) returned"
        ret

; ---- the FPU follows its task: lazy switching through CR0.TS, state in the TSS ----------
FPU_CW_PARENT equ 0x0f7f                ; round toward zero, extended precision, all masked
FPU_CW_CHILD  equ 0x037f                ; the fninit default
t_fpu:
        STAT STAT_HAVE_FPU
        test eax, eax
        jz .no_fpu
        fninit
        fldcw [fpu_cw_parent]
        SYS __NR_fork
        test eax, eax
        jz .child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid                  ; the child runs and uses the FPU meanwhile
        cmp eax, edi
        jne .bad_wait
        fnstcw [fpu_cw_read]
        movzx eax, word [fpu_cw_read]
        cmp eax, FPU_CW_PARENT
        jne .parent_lost
        mov eax, [status]
        test eax, eax
        jnz .child_failed
        UPASS "fpu: the child inherited the parent's FPU control word and changed its own; the parent's came back (lazy switch, fnsave/frstor in the TSS)"
        ret
.child: fnstcw [fpu_cw_read]            ; first FPU use since the switch: trap 7
        movzx eax, word [fpu_cw_read]
        cmp eax, FPU_CW_PARENT
        jne .c1
        fldcw [fpu_cw_child]
        fnstcw [fpu_cw_read]
        movzx eax, word [fpu_cw_read]
        cmp eax, FPU_CW_CHILD
        jne .c2
        EXIT 0
.c1:    EXIT 1
.c2:    EXIT 2
.no_fpu:
        SYS __NR_fork
        test eax, eax
        jz .nf_child
        js .fork_failed
        mov edi, eax
        mov ebx, edi
        call u_waitpid
        cmp eax, edi
        jne .bad_wait
        mov eax, [status]
        cmp eax, 1 << (SIGFPE - 1)
        jne .nf_status
        UPASS "fpu: no coprocessor (CR0.EM): the first FPU instruction ended the task with SIGFPE"
        ret
.nf_child:
        fninit
        EXIT 0
.fork_failed:
        UFAIL "fpu", "fork failed"
        ret
.bad_wait:
        UFAIL "fpu", "waitpid returned another pid"
        ret
.parent_lost:
        UFAIL "fpu", "the parent's control word after the child ran"
        ret
.child_failed:
        UFAIL "fpu", "child check failed (0x100 inherited word, 0x200 its own word)"
        ret
.nf_status:
        UFAIL "fpu", "status after an FPU instruction without coprocessor"
        ret
fpu_cw_parent: dw FPU_CW_PARENT
fpu_cw_child:  dw FPU_CW_CHILD

; ---- everything given back ---------------------------------------------------------------
t_pages_returned:
        STAT STAT_NR_TASKS
        cmp eax, 2
        jne .tasks
        STAT STAT_FREE_PAGES
        cmp eax, [free_start]
        jne .pages
        UPASS "pages-returned: after every child was reaped, the free-page count equals the count before the first fork"
        ret
.tasks: UFAIL "pages-returned", "tasks alive is not 2"
        ret
.pages: sub eax, [free_start]
        UFAIL "pages-returned", "free pages changed by"
        ret

; ---- user data: init's (and, copied on write, its children's) --------------------------
        align 4096
udata_start:
ubuf:       times UBUF_SIZE db 0
ubuf_len:   dd 0
passes:     dd 0
failures:   dd 0
my_pid:     dd 0
status:     dd 0
cow_var:    dd 0
free_start: dd 0
seq_free0:  dd 0
e_err:      dd 0
e_count:    dd 0
e_alive:    dd 0
e_reaped:   dd 0
e_badstat:  dd 0
e_last:     dd 0
pids:       times NR_TASKS dd 0
fpu_cw_read: dw 0
        align 4096
ls_page:    times 4096 db 0             ; cow-last-sharer's page
va_page:    times 4096 db 0             ; verify-area's page
udata_end:
