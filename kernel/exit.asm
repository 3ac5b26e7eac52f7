; kernel/exit.asm — ending a process (Linux 0.11's kernel/exit.c):
; release, send_sig, sys_kill, tell_father, do_exit, sys_exit, sys_waitpid.

; release(p): a zombie's slot and task_struct page are given back
release:
        mov edx, [esp + 4]
        test edx, edx
        jz .out
        mov ecx, 1
.lp:    cmp [task + ecx*4], edx
        je .found
        inc ecx
        cmp ecx, NR_TASKS
        jb .lp
        PANIC "trying to release non-existent task"
.found: mov dword [task + ecx*4], 0
        push edx
        call free_page
        add esp, 4
        call schedule
.out:   ret

; send_sig(sig, p, priv): 0, or -EINVAL for a bad signal (forklab has one user: no -EPERM)
send_sig:
        mov ecx, [esp + 4]
        mov edx, [esp + 8]
        test edx, edx
        jz .inval
        cmp ecx, 1
        jl .inval
        cmp ecx, 32
        jg .inval
        dec ecx
        mov eax, 1
        shl eax, cl
        or [edx + T_SIGNAL], eax
        xor eax, eax
        ret
.inval: mov eax, -EINVAL
        ret

; pid_match: ZF set when the task at edx is one that pid ecx names: ecx > 0 that pid,
; 0 the process group eax, -1 any task, < -1 the process group -ecx (sys_kill, sys_waitpid).
; Preserves every register.
pid_match:
        test ecx, ecx
        jg .pid
        jz .group
        cmp ecx, -1
        je .out                         ; any
        push ecx
        neg ecx
        cmp [edx + T_PGRP], ecx
        pop ecx
        ret
.group: cmp [edx + T_PGRP], eax
        ret
.pid:   cmp [edx + T_PID], ecx
.out:   ret

; sys_kill(pid, sig): pid > 0 that task; 0 our process group; -1 every task but task 0;
; < -1 the process group -pid
sys_kill:
        push ebx
        push esi
        push edi
        mov esi, [esp + 16]             ; pid
        mov edi, [esp + 20]             ; sig
        mov ebx, NR_TASKS
        xor eax, eax                    ; retval
        push eax
.lp:    dec ebx
        jz .done
        mov edx, [task + ebx*4]
        test edx, edx
        jz .lp
        mov ecx, esi
        mov eax, [current]              ; pid 0: as Linux 0.11, the group that has our pid
        mov eax, [eax + T_PID]
        call pid_match
        jne .lp
        push edx
        push edi
        call send_sig
        add esp, 8
        test eax, eax
        jz .lp
        mov [esp], eax
        jmp .lp
.done:  pop eax
        pop edi
        pop esi
        pop ebx
        ret

; tell_father(pid): SIGCHLD to the father; no father: complain and release ourselves
tell_father:
        mov eax, [esp + 4]
        test eax, eax
        jz .orphan
        mov ecx, 0
.lp:    mov edx, [task + ecx*4]
        test edx, edx
        jz .next
        cmp [edx + T_PID], eax
        jne .next
        or dword [edx + T_SIGNAL], 1 << (SIGCHLD - 1)
        ret
.next:  inc ecx
        cmp ecx, NR_TASKS
        jb .lp
.orphan:
        PRINTLN "BAD BAD - no father found"
        push dword [current]
        call release
        add esp, 4
        ret

; do_exit(code): free the memory, hand the children to init, become a zombie, tell the
; father, and schedule away for good
do_exit:
        push ebx
        push esi
        mov esi, [current]
        mov ecx, USER_CS                ; code: base and limit
        lsl eax, ecx
        inc eax
        push eax
        lea edx, [esi + T_LDT + 8]
        call get_base
        push eax
        call free_page_tables
        add esp, 8
        mov ecx, USER_DS                ; data: same base, so mostly already gone
        lsl eax, ecx
        inc eax
        push eax
        lea edx, [esi + T_LDT + 16]
        call get_base
        push eax
        call free_page_tables
        add esp, 8
        mov ebx, 0                      ; children go to init (task 1)
.kids:  mov edx, [task + ebx*4]
        test edx, edx
        jz .kid_next
        mov eax, [esi + T_PID]
        cmp [edx + T_FATHER], eax
        jne .kid_next
        mov dword [edx + T_FATHER], 1
        cmp dword [edx + T_STATE], TASK_ZOMBIE
        jne .kid_next
        push 1
        push dword [task + 4]
        push SIGCHLD
        call send_sig
        add esp, 12
.kid_next:
        inc ebx
        cmp ebx, NR_TASKS
        jb .kids
        ; no files, no inodes, no tty in forklab
        cmp [last_task_used_math], esi
        jne .no_math
        mov dword [last_task_used_math], 0
.no_math:
        mov dword [esi + T_STATE], TASK_ZOMBIE
        mov eax, [esp + 12]
        mov [esi + T_EXIT_CODE], eax
        push dword [esi + T_FATHER]
        call tell_father
        add esp, 4
        call schedule
        PANIC "do_exit: a zombie was scheduled"

; sys_exit(error_code)
sys_exit:
        mov eax, [esp + 4]
        and eax, 0xff
        shl eax, 8
        push eax
        call do_exit

; sys_waitpid(pid, stat_addr, options)
; (forklab refuses a stat_addr outside the caller's data segment with -EFAULT; Linux 0.11
; would take a #GP in the kernel there)
sys_waitpid:
        push ebp
        mov ebp, esp
        push ebx
        push esi
        push edi
        mov eax, [ebp + 12]
        mov ecx, USER_DS
        lsl edx, ecx                    ; last byte of the segment
        cmp edx, 3
        jb .efault
        sub edx, 3
        cmp eax, edx
        ja .efault
        push 4
        push dword [ebp + 12]
        call verify_area
        add esp, 8
.repeat:
        xor edi, edi                    ; flag: a child exists but is not done
        mov ebx, NR_TASKS
.lp:    dec ebx
        jz .scanned
        mov esi, [task + ebx*4]
        test esi, esi
        jz .lp
        cmp esi, [current]
        je .lp
        mov eax, [current]
        mov ecx, [eax + T_PID]
        cmp [esi + T_FATHER], ecx
        jne .lp
        mov edx, esi
        mov ecx, [ebp + 8]              ; pid; 0: our process group
        mov eax, [eax + T_PGRP]
        call pid_match
        jne .lp
        mov ecx, [esi + T_STATE]
        cmp ecx, TASK_STOPPED
        je .stopped
        cmp ecx, TASK_ZOMBIE
        je .zombie
        mov edi, 1
        jmp .lp
.stopped:
        test dword [ebp + 16], WUNTRACED
        jz .lp
        mov edx, [ebp + 12]
        mov dword [fs:edx], 0x7f
        mov eax, [esi + T_PID]
        jmp .out
.zombie:
        mov eax, [current]
        mov ecx, [esi + T_UTIME]
        add [eax + T_CUTIME], ecx
        mov ecx, [esi + T_STIME]
        add [eax + T_CSTIME], ecx
        mov edi, [esi + T_PID]          ; flag = pid
        mov ebx, [esi + T_EXIT_CODE]    ; code
        push esi
        call release
        add esp, 4
        mov edx, [ebp + 12]
        mov [fs:edx], ebx               ; put_fs_long(code, stat_addr)
        mov eax, edi
        jmp .out
.scanned:
        test edi, edi
        jz .no_child
        test dword [ebp + 16], WNOHANG
        jz .sleep
        xor eax, eax
        jmp .out
.sleep: mov eax, [current]
        mov dword [eax + T_STATE], TASK_INTERRUPTIBLE
        call schedule
        mov eax, [current]
        mov ecx, [eax + T_SIGNAL]
        and ecx, ~(1 << (SIGCHLD - 1))
        mov [eax + T_SIGNAL], ecx
        test ecx, ecx
        jz .repeat
        mov eax, -EINTR
        jmp .out
.no_child:
        mov eax, -ECHILD
        jmp .out
.efault:
        mov eax, -EFAULT
.out:   pop edi
        pop esi
        pop ebx
        pop ebp
        ret
