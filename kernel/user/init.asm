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

; ---- fork returns the child's pid to the parent, 0 to the child -------------------------
t_fork_pids:
        TEST "fork-pids"
        SYS __NR_getpid
        mov [my_pid], eax
        FORK .child
        WAIT_CHILD
        mov ecx, edi
        and ecx, 0x7f
        shl ecx, 8
        EXPECT_STATUS ecx, "status is not (child pid & 0x7f) << 8"
        PASS "fork returned the child's pid to the parent and 0 to the child; the child's getppid is the parent"
.child: SYS __NR_getppid
        cmp eax, [my_pid]
        CHILD_CHECK e, 0xff
        SYS __NR_getpid
        cmp eax, [my_pid]
        CHILD_CHECK ne, 0xff
        mov ebx, eax
        and ebx, 0x7f
        SYS __NR_exit

; ---- parent and child write the same variable ------------------------------------------
t_fork_cow:
        TEST "fork-cow"
        mov dword [cow_var], 1000
        FORK .child
        mov dword [cow_var], 2222
        WAIT_CHILD
        mov eax, [cow_var]
        EXPECT 2222, "the parent's variable changed"
        EXPECT_STATUS 0, "child check failed (1 pre-fork value, 2 faults, 3 copies, 4 value lost)"
        PASS "parent and child each see their own value of one variable; the child's first write cost one fault"
.child: STAT STAT_MY_FAULTS
        mov esi, eax
        STAT STAT_MY_COPIES
        mov edi, eax
        STAT STAT_MY_NOCOPY
        add edi, eax                    ; copies + no-copy: one of them must move
        cmp dword [cow_var], 1000
        CHILD_CHECK e, 1
        mov dword [cow_var], 1111       ; the write fault
        STAT STAT_MY_FAULTS
        sub eax, esi
        cmp eax, 1
        CHILD_CHECK e, 2
        STAT STAT_MY_COPIES
        mov esi, eax
        STAT STAT_MY_NOCOPY
        add eax, esi
        sub eax, edi
        cmp eax, 1
        CHILD_CHECK e, 3
        mov ecx, 300000                 ; the parent writes its value meanwhile
.spin:  cmp dword [cow_var], 1111
        CHILD_CHECK e, 4
        loop .spin
        EXIT 0

; ---- a chain: each generation forks the next and exits with the child's code + 1 -------
; (only generation 0, init, reports; a later generation that fails exits with 0xf0)
t_chain:
        TEST "fork-chain"
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
        EXPECT CHAIN_DEPTH, "exit code of the chain is not 8"
        PASS "8 generations of fork, each waitpid collected its child's exit code"
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
        FAIL "fork failed"
.bad_wait:
        test esi, esi
        jnz .in_child
        FAIL "waitpid returned another pid"
.in_child:
        EXIT 0xf0

; ---- a tree: 3 children, each with 2 children of its own --------------------------------
t_tree:
        TEST "fork-tree"
        mov esi, 1                      ; child number i
.fork_child:
        SYS __NR_fork
        test eax, eax
        jz .child
        CHECK ns, "fork failed"
        inc esi
        cmp esi, 3
        jbe .fork_child
        mov edi, 3
        xor ebp, ebp                    ; sum of the codes
        call .reap
        test edi, edi
        CHECK z, "waitpid(-1) failed"
        EXPECT -ECHILD, "a 4th waitpid(-1) did not return -ECHILD"
        mov eax, ebp
        EXPECT 33, "the exit codes do not add up to 33"    ; sum over i=1..3 of i + 2i + (2i+1)
        PASS "3 children with 2 children each, waitpid(-1) collected all 9 exit codes, then -ECHILD"
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
        call .reap
        test edi, edi
        jnz .child_failed
        cmp eax, -ECHILD
        jne .child_failed
        mov ebx, ebp
        SYS __NR_exit
.child_failed:
        EXIT 0xc0
.grandchild:
        lea ebx, [esi*2 + edi]
        SYS __NR_exit
; .reap: waitpid(-1) edi times, adding each child's exit code to ebp, then once more (which
; must say -ECHILD); it stops at the first that fails. Out: edi = the children that did not
; come, eax = the last waitpid's result
.reap:  mov ebx, -1
        call u_waitpid
        test eax, eax
        jle .reaped
        mov eax, [status]
        shr eax, 8
        add ebp, eax
        dec edi
        jnz .reap
        mov ebx, -1
        call u_waitpid
.reaped:
        ret

; ---- fork until the task table is full ----------------------------------------------------
t_eagain:
        TEST "fork-eagain"
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
        EXPECT -EAGAIN, "fork failed with something else than -EAGAIN"
        mov eax, [e_count]
        EXPECT NR_TASKS - 2, "number of children is not 62"
        mov eax, [e_alive]
        EXPECT NR_TASKS, "tasks in the table is not 64"
        mov eax, [e_reaped]
        EXPECT [e_count], "could not reap every child"
        mov eax, [e_badstat]
        EXPECT 0, "children with a status other than 0x100"
        mov eax, [e_last]
        EXPECT -ECHILD, "after reaping, waitpid did not return -ECHILD"
        PASS "62 children filled the 64-slot task table, the next fork got -EAGAIN; SIGKILL and waitpid reaped them all"

; ---- 1000 times fork, exit, wait ----------------------------------------------------------
t_seq:
        TEST "fork-1000"
        STAT STAT_FREE_PAGES
        mov [seq_free0], eax
        xor esi, esi
.lp:    FORK .child
        WAIT_CHILD
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
        PASS "1000 sequential fork/exit/waitpid, every exit code right, free pages unchanged"
.child: mov ebx, esi
        and ebx, 0xff
        SYS __NR_exit
.bad_status:
        mov eax, esi
        FAIL "wrong exit status at iteration"
.leak:  sub eax, [seq_free0]
        FAIL "free pages changed by"

; ---- the last sharer writes: the page is made writable, not copied ---------------------
t_last_sharer:
        TEST "cow-last-sharer"
        mov dword [ls_page], 1          ; init's own page
        FORK .child
        WAIT_CHILD                      ; the child is gone: the page's count is 1 again
        STAT STAT_MY_FAULTS
        mov esi, eax
        STAT STAT_MY_COPIES
        mov edi, eax
        STAT STAT_MY_NOCOPY
        mov ebp, eax
        mov dword [ls_page], 2          ; read-only since the fork: one fault
        STAT STAT_MY_FAULTS
        sub eax, esi
        EXPECT 1, "write faults counted"
        STAT STAT_MY_COPIES
        sub eax, edi
        CHECK z, "pages copied"
        STAT STAT_MY_NOCOPY
        sub eax, ebp
        EXPECT 1, "pages made writable"
        cmp dword [ls_page], 2
        CHECK e, "the written value is not there"
        PASS "after the other sharer exited, a write fault made the page writable without a copy"
.child: EXIT 0

; ---- the kernel writes into a shared page: verify_area must copy it first ---------------
t_verify_area:
        TEST "verify-area"
        mov dword [va_page], 0x55555555
        mov dword [va_page + 4], 0x12345678
        FORK .child
        WAIT_CHILD
        mov eax, [va_page]              ; first: did the kernel write into our page?
        EXPECT 0x55555555, "the kernel's write reached the parent's page"
        EXPECT_STATUS 0, "child check failed (0x100 fork, 0x200 wait, 0x300 status, 0x400 copy, 0x500 counter)"
        PASS "waitpid wrote the status into the child's own copy of a shared page, the parent's page is untouched"
.child: SYS __NR_fork                   ; (no call in here: a stack write would copy a page)
        test eax, eax
        jz .grandchild
        CHILD_CHECK ns, 1
        mov edi, eax
        STAT STAT_MY_COPIES
        mov esi, eax
        mov ebx, edi
        mov ecx, va_page                ; stat_addr: a read-only, shared page
        xor edx, edx
        SYS __NR_waitpid
        cmp eax, edi
        CHILD_CHECK e, 2
        cmp dword [va_page], 42 << 8
        CHILD_CHECK e, 3
        cmp dword [va_page + 4], 0x12345678
        CHILD_CHECK e, 4
        STAT STAT_MY_COPIES
        sub eax, esi
        cmp eax, 1
        CHILD_CHECK e, 5
        EXIT 0
.grandchild:
        EXIT 42

; ---- a user write to a kernel address kills only the writer -----------------------------
t_fault_kill:
        TEST "fault-kill"
        FORK .child
        WAIT_CHILD
        EXPECT_STATUS SIGSEGV, "status is not 11"
        STAT STAT_NR_TASKS
        EXPECT 2, "tasks alive is not 2 (task 0, init)"
        PASS "a user write to 0x100000 (kernel memory, beyond the 640 KB segment) killed only that task, status 11"
.child: mov esi, s_fault_expect
        call u_puts
        mov dword [0x100000], 0xdeadbeef
        EXIT 0
s_fault_expect: db "fault-kill: the child now writes to 0x100000; an oops follows", 0

; ---- exceptions from user mode: divide error (no error code), #GP on loading the kernel's
; data selector (error code 0x10); each prints an oops and ends only its task ----------
t_trap_kill:
        TEST "trap-kill"
        mov esi, s_trap_expect
        call u_puts
        FORK .divide
        WAIT_CHILD
        EXPECT_STATUS SIGSEGV, "status after a divide by zero"
        FORK .selector
        WAIT_CHILD
        EXPECT_STATUS SIGSEGV, "status after loading selector 0x10"
        STAT STAT_NR_TASKS
        EXPECT 2, "tasks alive is not 2 (task 0, init)"
        PASS "a divide by zero and a load of the kernel's data selector each killed only their task, status 11"
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
s_trap_expect: db "trap-kill: two children now divide by zero and load selector 0x10; two oopses follow", 0

; ---- waitpid without children, and with WNOHANG -----------------------------------------
t_waitpid_echild:
        TEST "waitpid-echild"
        mov ebx, -1
        call u_waitpid
        EXPECT -ECHILD, "waitpid returned"
        mov ebx, -1                     ; a status address beyond the 640 KB segment
        mov ecx, 0x100000
        xor edx, edx
        SYS __NR_waitpid
        EXPECT -EFAULT, "waitpid(-1, 0x100000, 0) returned"
        PASS "waitpid(-1) with no children returned -ECHILD (-10); a status address outside the segment -EFAULT"

t_waitpid_wnohang:
        TEST "waitpid-wnohang"
        FORK .child
        mov ebx, edi
        mov ecx, status
        mov edx, WNOHANG
        SYS __NR_waitpid
        mov esi, eax
        mov ebx, edi
        mov ecx, SIGKILL
        SYS __NR_kill
        WAIT_CHILD
        mov eax, esi
        EXPECT 0, "WNOHANG returned"
        EXPECT_STATUS 1 << (SIGKILL - 1), "status after SIGKILL"
        PASS "WNOHANG with a live child returned 0; after SIGKILL waitpid got status 0x100"
.child: SYS __NR_pause
        jmp .child

; ---- system calls that do not exist ----------------------------------------------------
t_unknown_syscall:
        TEST "syscall-unknown"
        mov eax, 1000
        int 0x80
        EXPECT -1, "eax beyond the table returned"
        mov eax, 0xffffffff
        int 0x80
        EXPECT -1, "eax beyond the table returned"
        mov eax, 100
        int 0x80
        EXPECT -ENOSYS, "an unimplemented call returned"
        PASS "eax beyond the table returned -1 (as Linux 0.11), a number without a call -ENOSYS"

; ---- brk -----------------------------------------------------------------------------------
; init inherits task 0's brk fields (end_code 0, start_stack 0): any break below
; start_stack - 16 KB (which wraps to 0xffffc000) is accepted
t_brk:
        TEST "brk"
        mov ebx, 0x60000
        SYS __NR_brk
        EXPECT 0x60000, "brk(0x60000) returned"
        mov ebx, 0xfffff000
        SYS __NR_brk
        EXPECT 0x60000, "brk(0xfffff000) returned"
        PASS "brk(0x60000) returned the new break; brk(0xfffff000), within 16 KB of the stack start, kept it"

; ---- the FPU follows its task: lazy switching through CR0.TS, state in the TSS ----------
FPU_CW_PARENT equ 0x0f7f                ; round toward zero, extended precision, all masked
FPU_CW_CHILD  equ 0x037f                ; the fninit default
t_fpu:
        TEST "fpu"
        STAT STAT_HAVE_FPU
        test eax, eax
        jz .no_fpu
        fninit
        fldcw [fpu_cw_parent]
        FORK .child
        WAIT_CHILD                      ; the child runs and uses the FPU meanwhile
        fnstcw [fpu_cw_read]
        movzx eax, word [fpu_cw_read]
        EXPECT FPU_CW_PARENT, "the parent's control word after the child ran"
        EXPECT_STATUS 0, "child check failed (0x100 inherited word, 0x200 its own word)"
        PASS "the child inherited the parent's FPU control word and changed its own; the parent's came back (lazy switch, fnsave/frstor in the TSS)"
.child: fnstcw [fpu_cw_read]            ; first FPU use since the switch: trap 7
        movzx eax, word [fpu_cw_read]
        cmp eax, FPU_CW_PARENT
        CHILD_CHECK e, 1
        fldcw [fpu_cw_child]
        fnstcw [fpu_cw_read]
        movzx eax, word [fpu_cw_read]
        cmp eax, FPU_CW_CHILD
        CHILD_CHECK e, 2
        EXIT 0
.no_fpu:
        FORK .nf_child
        WAIT_CHILD
        EXPECT_STATUS 1 << (SIGFPE - 1), "status after an FPU instruction without coprocessor"
        PASS "no coprocessor (CR0.EM): the first FPU instruction ended the task with SIGFPE"
.nf_child:
        fninit
        EXIT 0
fpu_cw_parent: dw FPU_CW_PARENT
fpu_cw_child:  dw FPU_CW_CHILD

; ---- everything given back ---------------------------------------------------------------
t_pages_returned:
        TEST "pages-returned"
        STAT STAT_NR_TASKS
        EXPECT 2, "tasks alive is not 2"
        STAT STAT_FREE_PAGES
        cmp eax, [free_start]
        je .same
        sub eax, [free_start]
        FAIL "free pages changed by"
.same:  PASS "after every child was reaped, the free-page count equals the count before the first fork"

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
