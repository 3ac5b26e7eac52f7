; kernel/fork.asm — creating a process (Linux 0.11's kernel/fork.c):
; find_empty_process, copy_process, copy_mem, verify_area.

; get_base: eax = base address of the descriptor at [edx]
get_base:
        mov eax, [edx + 4]
        and eax, 0xff000000
        movzx ecx, byte [edx + 4]
        shl ecx, 16
        or eax, ecx
        movzx ecx, word [edx + 2]
        or eax, ecx
        ret

; set_base: descriptor at [edx] gets base eax
set_base:
        mov [edx + 2], ax
        ror eax, 16
        mov [edx + 4], al
        mov [edx + 7], ah
        rol eax, 16
        ret

; verify_area(addr, size): make [addr, addr+size) of the current task's data segment
; writable for the kernel, page by page (write_verify)
verify_area:
        push ebx
        push esi
        mov ebx, [esp + 12]             ; start
        mov esi, [esp + 16]             ; size
        mov eax, ebx
        and eax, 0xfff
        add esi, eax
        and ebx, 0xfffff000
        mov edx, [current]
        lea edx, [edx + T_LDT + 16]
        call get_base
        add ebx, eax
.lp:    test esi, esi
        jle .out
        push ebx
        call write_verify
        add esp, 4
        sub esi, 4096
        add ebx, 4096
        jmp .lp
.out:   xor eax, eax
        pop esi
        pop ebx
        ret

; copy_mem(nr, p): the child's LDT bases move to its own 64 MB slot and its page tables
; share the parent's pages. 0, or -ENOMEM.
copy_mem:
        push ebp
        mov ebp, esp
        push ebx
        push esi
        push edi
        mov ecx, USER_CS
        lsl eax, ecx
        inc eax
        mov esi, eax                    ; code_limit (for the check below)
        mov ecx, USER_DS
        lsl eax, ecx
        inc eax
        mov edi, eax                    ; data_limit
        mov edx, [current]
        lea edx, [edx + T_LDT + 8]
        call get_base
        mov ebx, eax                    ; old_code_base
        mov edx, [current]
        lea edx, [edx + T_LDT + 16]
        call get_base                   ; eax = old_data_base
        cmp eax, ebx
        jne .separate
        cmp edi, esi
        jb .bad_limit
        mov ebx, eax                    ; ebx = old_data_base
        mov eax, [ebp + 8]              ; new base = nr * TASK_SIZE
        shl eax, 26
        mov esi, eax                    ; esi = new_data_base
        mov edx, [ebp + 12]             ; p
        mov [edx + T_START_CODE], eax
        lea edx, [edx + T_LDT + 8]
        call set_base
        add edx, 8
        call set_base
        push edi                        ; data_limit
        push esi                        ; new_data_base
        push ebx                        ; old_data_base
        call copy_page_tables
        add esp, 12
        test eax, eax
        jz .out
        push edi
        push esi
        call free_page_tables
        add esp, 8
        mov eax, -ENOMEM
.out:   pop edi
        pop esi
        pop ebx
        pop ebp
        ret
.separate:
        PANIC "We don't support separate I&D"
.bad_limit:
        PANIC "Bad data_limit"

; copy_process(nr, ebp, edi, esi, gs, none, ebx, ecx, edx, fs, es, ds, eip, cs, eflags,
;              esp, ss): a new task_struct and TSS for slot nr, a copy of the current task,
; ready to continue in user mode after the int 0x80 with eax = 0. Returns the new pid.
CP_NR     equ 8
CP_EBP    equ 12
CP_EDI    equ 16
CP_ESI    equ 20
CP_GS     equ 24
CP_EBX    equ 32
CP_ECX    equ 36
CP_EDX    equ 40
CP_FS     equ 44
CP_ES     equ 48
CP_DS     equ 52
CP_EIP    equ 56
CP_CS     equ 60
CP_EFLAGS equ 64
CP_ESP    equ 68
CP_SS     equ 72

; FROM_FRAME reg, ...: the child's TSS (edi) gets the caller's saved registers (TSS_reg =
; CP_reg); SEG_FROM_FRAME reg, ...: the same for segment registers, their 16 bits
%macro FROM_FRAME 1-*
%rep %0
        mov eax, [ebp + CP_%1]
        mov [edi + TSS_%1], eax
%rotate 1
%endrep
%endmacro
%macro SEG_FROM_FRAME 1-*
%rep %0
        movzx eax, word [ebp + CP_%1]
        mov [edi + TSS_%1], eax
%rotate 1
%endrep
%endmacro

copy_process:
        push ebp
        mov ebp, esp
        push ebx
        push esi
        push edi
        call get_free_page
        test eax, eax
        jz .eagain
        mov ebx, eax                    ; p
        mov ecx, [ebp + CP_NR]
        mov [task + ecx*4], ebx
        mov esi, [current]              ; *p = *current
        mov edi, ebx
        mov ecx, TASK_STRUCT_SIZE / 4
        cld
        rep movsd
        mov dword [ebx + T_STATE], TASK_UNINTERRUPTIBLE
        mov eax, [last_pid]
        mov [ebx + T_PID], eax
        mov eax, [current]
        mov eax, [eax + T_PID]
        mov [ebx + T_FATHER], eax
        mov eax, [ebx + T_PRIORITY]
        mov [ebx + T_COUNTER], eax
        xor eax, eax
        mov [ebx + T_SIGNAL], eax
        mov [ebx + T_ALARM], eax
        mov [ebx + T_LEADER], eax
        mov [ebx + T_UTIME], eax
        mov [ebx + T_STIME], eax
        mov [ebx + T_CUTIME], eax
        mov [ebx + T_CSTIME], eax
        mov [ebx + T_COW_FAULTS], eax
        mov [ebx + T_COW_COPIES], eax
        mov [ebx + T_COW_NOCOPY], eax
        mov eax, [jiffies]
        mov [ebx + T_START_TIME], eax
        ; the TSS: the child resumes the caller's user context
        lea edi, [ebx + T_TSS]
        mov dword [edi + TSS_BACK_LINK], 0
        lea eax, [ebx + PAGE_SIZE]
        mov [edi + TSS_ESP0], eax
        mov dword [edi + TSS_SS0], KERNEL_DS
        FROM_FRAME EIP, EFLAGS
        mov dword [edi + TSS_EAX], 0    ; fork() returns 0 in the child
        FROM_FRAME ECX, EDX, EBX, ESP, EBP, ESI, EDI
        SEG_FROM_FRAME ES, CS, SS, DS, FS, GS
        mov eax, [ebp + CP_NR]
        shl eax, 4
        add eax, FIRST_LDT_ENTRY << 3
        mov [edi + TSS_LDT], eax
        mov dword [edi + TSS_TRACE_BITMAP], 0x80000000
        mov eax, [last_task_used_math]  ; our FPU state is live: the child gets a copy
        cmp eax, [current]
        jne .no_math
        clts
        fnsave [edi + TSS_I387]
        frstor [edi + TSS_I387]         ; fnsave reinitialises the FPU: keep ours
.no_math:
        push ebx
        push dword [ebp + CP_NR]
        call copy_mem
        add esp, 8
        test eax, eax
        jnz .undo
        ; no files, no inodes in forklab: nothing to take a reference on
        mov ecx, [ebp + CP_NR]          ; TSS and LDT descriptors in the GDT
        mov edx, ebx
        call set_task_descs
        mov dword [ebx + T_STATE], TASK_RUNNING
        inc dword [total_forks]
        mov eax, [last_pid]
        jmp .out
.undo:  mov ecx, [ebp + CP_NR]
        mov dword [task + ecx*4], 0
        push ebx
        call free_page
        add esp, 4
.eagain:
        mov eax, -EAGAIN
.out:   pop edi
        pop esi
        pop ebx
        pop ebp
        ret

; find_empty_process(): a fresh pid in last_pid and a free slot nr (1..63), or -EAGAIN
find_empty_process:
.repeat:
        inc dword [last_pid]
        jns .pid_ok
        mov dword [last_pid], 1
.pid_ok:
        mov eax, [last_pid]
        xor ecx, ecx
.check: mov edx, [task + ecx*4]
        test edx, edx
        jz .check_next
        cmp [edx + T_PID], eax
        je .repeat
.check_next:
        inc ecx
        cmp ecx, NR_TASKS
        jb .check
        mov ecx, 1
.slot:  cmp dword [task + ecx*4], 0
        je .found
        inc ecx
        cmp ecx, NR_TASKS
        jb .slot
        mov eax, -EAGAIN
        ret
.found: mov eax, ecx
        ret

last_pid:       dd 0
total_forks:    dd 0
