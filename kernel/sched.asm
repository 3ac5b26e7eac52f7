; kernel/sched.asm — schedule, switch_to, the timer's bookkeeping, pause, sched_init,
; and the FPU's lazy switch (math_state_restore).

; schedule(): wake the interruptible tasks that have a signal (or an expired alarm), pick
; the RUNNING task with the largest counter, recharge the counters when every runnable
; task has used its slice, and switch_to it. Task 0 runs when nothing else can.
schedule:
        push ebx
        push esi
        push edi
        mov ecx, NR_TASKS - 1
.wake:  mov eax, [task + ecx*4]
        test eax, eax
        jz .wake_next
        mov edx, [eax + T_ALARM]
        test edx, edx
        jz .no_alarm
        cmp edx, [jiffies]
        jae .no_alarm
        or dword [eax + T_SIGNAL], 1 << (SIGALRM - 1)
        mov dword [eax + T_ALARM], 0
.no_alarm:
        mov edx, [eax + T_BLOCKED]
        and edx, ~((1 << (SIGKILL - 1)) | (1 << (19 - 1)))      ; SIGKILL, SIGSTOP unblockable
        not edx
        and edx, [eax + T_SIGNAL]
        jz .wake_next
        cmp dword [eax + T_STATE], TASK_INTERRUPTIBLE
        jne .wake_next
        mov dword [eax + T_STATE], TASK_RUNNING
.wake_next:
        dec ecx
        jnz .wake

.pick:  mov esi, -1                     ; c: best counter so far
        xor edi, edi                    ; next
        mov ecx, NR_TASKS
.scan:  dec ecx
        jz .chosen
        mov eax, [task + ecx*4]
        test eax, eax
        jz .scan
        cmp dword [eax + T_STATE], TASK_RUNNING
        jne .scan
        mov edx, [eax + T_COUNTER]
        cmp edx, esi
        jle .scan
        mov esi, edx
        mov edi, ecx
        jmp .scan
.chosen:
        test esi, esi
        jnz .switch                     ; a positive counter, or nobody (-1): task 0
        mov ecx, NR_TASKS - 1
.recharge:
        mov eax, [task + ecx*4]
        test eax, eax
        jz .recharge_next
        mov edx, [eax + T_COUNTER]
        sar edx, 1
        add edx, [eax + T_PRIORITY]
        mov [eax + T_COUNTER], edx
.recharge_next:
        dec ecx
        jnz .recharge
        jmp .pick
.switch:
        push edi
        call switch_to
        add esp, 4
        pop edi
        pop esi
        pop ebx
        ret

; switch_to(n): if task n is not the current one, make it current and far-jump to its
; TSS; the CPU saves our registers in our TSS and we continue here when switched back.
switch_to:
        mov ecx, [esp + 4]
        mov eax, [task + ecx*4]
        cmp eax, [current]
        je .same
        mov [current], eax
        shl ecx, 4
        add ecx, FIRST_TSS_ENTRY << 3
        mov [switch_far + 4], cx
        jmp far [switch_far]
        mov eax, [last_task_used_math]  ; back again: our FPU state still in the FPU?
        cmp eax, [current]
        jne .same
        clts
.same:  ret

; do_timer(cpl): charge the tick, and reschedule a user task whose slice is over
do_timer:
        mov eax, [current]
        cmp dword [esp + 4], 0
        je .kernel
        inc dword [eax + T_UTIME]
        jmp .count
.kernel:
        inc dword [eax + T_STIME]
.count: dec dword [eax + T_COUNTER]
        jg .out
        mov dword [eax + T_COUNTER], 0
        cmp dword [esp + 4], 0
        je .out                         ; kernel mode is never preempted
        jmp schedule
.out:   ret

sys_pause:
        mov eax, [current]
        mov dword [eax + T_STATE], TASK_INTERRUPTIBLE
        call schedule
        xor eax, eax
        ret

; math_state_restore: the current task wants the FPU. Save the previous owner's state in
; its TSS, then restore ours (or start fresh).
math_state_restore:
        mov eax, [last_task_used_math]
        cmp eax, [current]
        je .out
        fwait
        test eax, eax
        jz .no_owner
        fnsave [eax + T_TSS + TSS_I387]
.no_owner:
        mov eax, [current]
        mov [last_task_used_math], eax
        cmp word [eax + T_USED_MATH], 0
        je .fresh
        frstor [eax + T_TSS + TSS_I387]
        jmp .out
.fresh: fninit
        mov word [eax + T_USED_MATH], 1
.out:   ret

; set_tssldt_desc: edi = descriptor, eax = base, dl = type byte; limit 104
set_tssldt_desc:
        mov word [edi], 104
        mov [edi + 2], ax
        shr eax, 16
        mov [edi + 4], al
        mov [edi + 5], dl
        mov byte [edi + 6], 0
        mov [edi + 7], ah
        ret

; set_task_descs: task nr ecx's TSS and LDT descriptors in the GDT, for its task_struct
; at edx (Linux's set_tss_desc and set_ldt_desc). Changes eax, ecx, edx.
set_task_descs:
        push edi
        push edx
        shl ecx, 4
        lea edi, [gdt + FIRST_TSS_ENTRY*8 + ecx]
        lea eax, [edx + T_TSS]
        mov dl, 0x89
        call set_tssldt_desc
        add edi, 8                      ; the LDT's descriptor follows the TSS's
        pop eax
        add eax, T_LDT
        mov dl, 0x82
        call set_tssldt_desc
        pop edi
        ret

sched_init:
        push edi
        xor ecx, ecx
        mov edx, init_task
        call set_task_descs
        mov ecx, 1                      ; empty slots and descriptors for tasks 1..63
.clear: mov dword [task + ecx*4], 0
        mov edi, ecx
        shl edi, 4
        mov dword [gdt + FIRST_TSS_ENTRY*8 + edi], 0
        mov dword [gdt + FIRST_TSS_ENTRY*8 + edi + 4], 0
        mov dword [gdt + FIRST_LDT_ENTRY*8 + edi], 0
        mov dword [gdt + FIRST_LDT_ENTRY*8 + edi + 4], 0
        inc ecx
        cmp ecx, NR_TASKS
        jb .clear
        pushfd                          ; clear NT, so no iret tries a task return
        and dword [esp], 0xffffbfff
        popfd
        mov ax, TSS0_SEL
        ltr ax
        mov ax, LDT0_SEL
        lldt ax
        mov al, 0x36                    ; PIT channel 0, lobyte/hibyte, mode 3, binary
        out 0x43, al
        mov al, LATCH & 0xff
        out 0x40, al
        mov al, LATCH >> 8
        out 0x40, al
        SET_INTR_GATE 0x20, timer_interrupt
        in al, 0x21
        and al, 0xfe                    ; unmask IRQ0
        out 0x21, al
        SET_SYSTEM_GATE 0x80, system_call
        pop edi
        ret

; AT_OFFSET base, offset: pad up to base+offset, and fail to assemble if already past it
%macro AT_OFFSET 2
        times ((%2) - ($ - %1)) db 0
        times (($ - %1) - (%2)) db 0
%endmacro

switch_far:     dd 0
                dw 0
jiffies:        dd 0
last_task_used_math: dd 0
current:        dd init_task
task:           dd init_task
                times NR_TASKS - 1 dd 0

; task 0, built by hand (INIT_TASK): its task_struct and kernel stack share this page
        align 4096
init_task:
        dd TASK_RUNNING                 ; state
        dd 15                           ; counter
        dd 15                           ; priority
        dd 0                            ; signal
        times 32*16 db 0                ; sigaction[32]
        dd 0                            ; blocked
        AT_OFFSET init_task, T_EXIT_CODE
        dd 0, 0, 0, 0, 0, 0             ; exit_code start_code end_code end_data brk start_stack
        AT_OFFSET init_task, T_PID
        dd 0, -1, 0, 0, 0               ; pid father pgrp session leader
        dw 0, 0, 0, 0, 0, 0             ; uid euid suid gid egid sgid
        AT_OFFSET init_task, T_ALARM
        dd 0                            ; alarm
        dd 0, 0, 0, 0, 0                ; utime stime cutime cstime start_time
        dw 0                            ; used_math
        dw -1                           ; tty
        dw 18                           ; umask 0022
        AT_OFFSET init_task, T_PWD
        dd 0, 0, 0                      ; pwd root executable
        dd 0                            ; close_on_exec
        times NR_OPEN dd 0              ; filp[]
        AT_OFFSET init_task, T_LDT
        dd 0, 0                         ; ldt[0] null
        dd 0x0000009f, 0x00c0fa00       ; ldt[1] code: base 0, 640 KB, DPL 3 (0x00c0fa000000009f)
        dd 0x0000009f, 0x00c0f200       ; ldt[2] data/stack: base 0, 640 KB, DPL 3 (0x00c0f2000000009f)
        AT_OFFSET init_task, T_TSS
        dd 0                            ; back_link
        dd init_task + PAGE_SIZE        ; esp0
        dd KERNEL_DS                    ; ss0
        dd 0, 0, 0, 0                   ; esp1 ss1 esp2 ss2
        dd pg_dir                       ; cr3
        dd 0, 0                         ; eip eflags
        dd 0, 0, 0, 0                   ; eax ecx edx ebx
        dd 0, 0, 0, 0                   ; esp ebp esi edi
        dd 0x17, 0x17, 0x17, 0x17, 0x17, 0x17   ; es cs ss ds fs gs
        dd LDT0_SEL                      ; ldt
        dd 0x80000000                   ; trace 0, I/O map base 0x8000 (none)
        times 108 db 0                  ; i387
        AT_OFFSET init_task, T_COW_FAULTS
        dd 0, 0, 0                      ; forklab: cow faults, copies, no-copy
        AT_OFFSET init_task, TASK_STRUCT_SIZE
        AT_OFFSET init_task, PAGE_SIZE  ; the rest of the page is task 0's kernel stack
