; kernel/system_call.asm — int 0x80, the timer interrupt, sys_fork, the FPU trap.
;
; Stack after system_call's pushes (and in timer_interrupt, which builds the same frame):
;   0x00 eax (the result on the way out)   0x04 ebx   0x08 ecx   0x0C edx
;   0x10 fs   0x14 es   0x18 ds   0x1C eip   0x20 cs   0x24 eflags   0x28 esp   0x2C ss

EAX_OFF     equ 0x00
EBX_OFF     equ 0x04
ECX_OFF     equ 0x08
EDX_OFF     equ 0x0C
FS_OFF      equ 0x10
ES_OFF      equ 0x14
DS_OFF      equ 0x18
EIP_OFF     equ 0x1C
CS_OFF      equ 0x20
EFLAGS_OFF  equ 0x24
OLDESP_OFF  equ 0x28
OLDSS_OFF   equ 0x2C

; SAVE_REGS: ds, es, fs, edx, ecx, ebx — the frame above from EBX_OFF up; for system_call
; they are the arguments of the call (ebx, ecx, edx)
%macro SAVE_REGS 0
        push ds
        push es
        push fs
        push edx
        push ecx
        push ebx
%endmacro

; SET_SEGMENTS reg: ds = es = the kernel's data, fs = the user's, through the 16-bit
; register reg (and its 32-bit self)
%macro SET_SEGMENTS 1
        mov e%1, KERNEL_DS
        mov ds, %1
        mov es, %1
        mov e%1, USER_DS                ; fs reaches the caller's memory
        mov fs, %1
%endmacro

bad_sys_call:
        mov eax, -1
        iret

reschedule:
        push ret_from_sys_call
        jmp schedule

system_call:
        cmp eax, NR_SYSCALLS - 1
        ja bad_sys_call
        SAVE_REGS
        SET_SEGMENTS dx
        call [sys_call_table + eax*4]
        push eax
        mov eax, [current]
        cmp dword [eax + T_STATE], TASK_RUNNING
        jne reschedule
        cmp dword [eax + T_COUNTER], 0
        je reschedule
ret_from_sys_call:
        mov eax, [current]
        cmp eax, [task]                 ; task 0 gets no signals
        je .out
        cmp word [esp + CS_OFF], USER_CS
        jne .out
        cmp word [esp + OLDSS_OFF], USER_DS
        jne .out
        mov ebx, [eax + T_SIGNAL]
        mov ecx, [eax + T_BLOCKED]
        not ecx
        and ecx, ebx
        bsf ecx, ecx                    ; lowest pending, unblocked signal
        je .out
        btr ebx, ecx
        mov [eax + T_SIGNAL], ebx
        inc ecx
        push ecx
        call do_signal
        pop eax
.out:   pop eax
        pop ebx
        pop ecx
        pop edx
        pop fs
        pop es
        pop ds
        iret

; do_signal(signr): forklab has no sys_signal, so every handler is SIG_DFL (0) or
; SIG_IGN (1): ignored signals and SIGCHLD vanish, any other kills the task with
; exit code 1 << (signr-1), as Linux 0.11's default action does.
do_signal:
        mov ecx, [esp + 4]
        mov eax, [current]
        mov edx, ecx
        dec edx
        shl edx, 4
        mov edx, [eax + T_SIGACTION + edx]
        cmp edx, 1
        je .ignore
        cmp ecx, SIGCHLD
        je .ignore
        dec ecx
        mov eax, 1
        shl eax, cl
        push eax
        call do_exit
.ignore:
        ret

timer_interrupt:
        SAVE_REGS
        push eax
        SET_SEGMENTS ax
        inc dword [jiffies]
        mov al, 0x20                    ; EOI to the master PIC
        out 0x20, al
        mov eax, [esp + CS_OFF]
        and eax, 3                      ; privilege of the interrupted code
        push eax
        call do_timer
        add esp, 4
        jmp ret_from_sys_call

; sys_fork: find a slot, then copy_process(nr, ebp, edi, esi, gs, none, ebx, ecx, edx,
; fs, es, ds, eip, cs, eflags, esp, ss)
sys_fork:
        call find_empty_process
        test eax, eax
        js .out
        push gs
        push esi
        push edi
        push ebp
        push eax
        call copy_process
        add esp, 20
.out:   ret

; device_not_available (exception 7): CR0.TS was set by a task switch. Give the FPU to the
; current task (math_state_restore), or with no FPU (EM) kill the task.
device_not_available:
        SAVE_REGS
        push eax
        SET_SEGMENTS ax
        push ret_from_sys_call
        clts
        mov eax, cr0
        test eax, 4                     ; EM: no coprocessor
        je math_state_restore
        PRINTLN "math emulation not supported: SIGFPE"
        mov eax, [current]              ; the signal is delivered on the way out
        or dword [eax + T_SIGNAL], 1 << (SIGFPE - 1)
        ret
