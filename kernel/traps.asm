; kernel/traps.asm — exceptions 0..16 (Linux 0.11's asm.s and traps.c).
;
; Each entry pushes the address of its C-style handler and joins no_error_code or
; error_code, which save the registers so that, seen from the handler's first argument
; esp_ptr (which points at the saved eip):
;   esp_ptr[0] eip, [4] cs, [8] eflags, [12] esp, [16] ss   (esp, ss only from ring 3)
;   esp_ptr[-4] eax, [-8] ebx, [-12] ecx, [-16] edx, [-20] edi, [-24] esi, [-28] ebp,
;   [-32] ds, [-36] es, [-40] fs
; The handler is called as do_xxx(esp_ptr, error_code). A fault in user mode prints an
; oops and kills the task (do_exit(11)); a fault in kernel mode is a panic.
; Exception 14 goes to page_fault (memory.asm) and 7 to device_not_available
; (system_call.asm).

divide_error:
        push do_divide_error
        jmp no_error_code
debug:
        push do_debug
        jmp no_error_code
nmi:
        push do_nmi
        jmp no_error_code
int3:
        push do_int3
        jmp no_error_code
overflow:
        push do_overflow
        jmp no_error_code
bounds:
        push do_bounds
        jmp no_error_code
invalid_op:
        push do_invalid_op
        jmp no_error_code
coprocessor_segment_overrun:
        push do_coprocessor_segment_overrun
        jmp no_error_code
reserved:
        push do_reserved
        jmp no_error_code
coprocessor_error:
        push do_coprocessor_error
        jmp no_error_code

double_fault:
        push do_double_fault
        jmp error_code
invalid_TSS:
        push do_invalid_TSS
        jmp error_code
segment_not_present:
        push do_segment_not_present
        jmp error_code
stack_segment:
        push do_stack_segment
        jmp error_code
general_protection:
        push do_general_protection
        jmp error_code

; no_error_code: an error code 0 goes under the handler's address, then as error_code
no_error_code:
        push dword [esp]
        mov dword [esp + 4], 0
error_code:
        xchg [esp + 4], eax             ; eax = error code, its slot keeps eax
        xchg [esp], ebx                 ; ebx = handler, its slot keeps ebx
        push ecx
        push edx
        push edi
        push esi
        push ebp
        push ds
        push es
        push fs
        push eax                        ; error code
        lea eax, [esp + 44]             ; -> saved eip
        push eax
        mov eax, KERNEL_DS
        mov ds, ax
        mov es, ax
        mov fs, ax
        call ebx
        add esp, 8
trap_return:
        pop fs
        pop es
        pop ds
        pop ebp
        pop esi
        pop edi
        pop edx
        pop ecx
        pop ebx
        pop eax
        iret

; SHOW_REGS "label", offset, ...: for each pair, the label and the saved register at
; [ebx + offset] as 8 hex digits
%macro SHOW_REGS 2-*
%rep %0 / 2
        PRINT %1
        mov eax, [ebx + %2]
        call print_hex
%rotate 2
%endrep
%endmacro

; die(const char *str, long esp_ptr, long nr): the oops of exception nr. Never returns.
die:
        mov ebx, [esp + 8]              ; esp_ptr
        NEWLINE
        mov esi, [esp + 4]
        call print_str
        PRINT ": "
        mov eax, [esp + 12]
        call print_hex4
        NEWLINE
        mov edx, .regs
        jmp oops
.regs:  SHOW_REGS "EAX: ", -4, " EBX: ", -8, " ECX: ", -12, " EDX: ", -16
        NEWLINE
        SHOW_REGS "ESI: ", -24, " EDI: ", -20, " EBP: ", -28
        PRINT " DS: "
        mov eax, [ebx - 32]
        call print_hex4
        NEWLINE
        ret

; oops: an oops after its first line, as Linux's die() prints it — the EIP line, the
; registers the entry path saved (the routine at edx prints their lines from ebx), CR2 and
; the pid — then a task in user mode ends with SIGSEGV (do_exit(11)) and a fault in kernel
; mode is a panic. ebx -> the saved eip, cs, eflags and, from ring 3, esp and ss. Never
; returns. die and beyond_segment (memory.asm) end here.
oops:
        PRINT "EIP: "
        mov eax, ebx
        call print_far
        PRINT "  EFLAGS: "
        mov eax, [ebx + 8]
        call print_hex
        PRINT "  ESP: "
        lea eax, [ebx + 12]
        test byte [ebx + 4], 3
        jz .kernel_esp
        call print_far                  ; ss:esp, pushed by the CPU
        jmp .regs
.kernel_esp:
        call print_hex                  ; no privilege change: the stack went on from here
.regs:  NEWLINE
        call edx
        PRINT "CR2: "
        mov eax, cr2
        call print_hex
        PRINT "  Pid: "
        mov eax, [current]
        mov eax, [eax + T_PID]
        call print_dec
        PRINT ", process nr: "
        call current_nr
        call print_dec
        NEWLINE
        test byte [ebx + 4], 3
        jz .in_kernel
        push SIGSEGV                    ; a user task: it dies, the others go on
        call do_exit
.in_kernel:
        PANIC "exception in kernel mode"

; current_nr: eax = slot number of the current task
current_nr:
        push ecx
        mov eax, [current]
        xor ecx, ecx
.lp:    cmp [task + ecx*4], eax
        je .found
        inc ecx
        cmp ecx, NR_TASKS
        jb .lp
        mov ecx, -1
.found: mov eax, ecx
        pop ecx
        ret

%macro TRAP_HANDLER 2                   ; name, message
%1:
        push dword [esp + 8]
        push dword [esp + 8]
        push %%msg
        call die
        add esp, 12
        ret
%%msg:  db %2, 0
%endmacro

TRAP_HANDLER do_divide_error, "divide error"
TRAP_HANDLER do_debug, "debug"
TRAP_HANDLER do_nmi, "nmi"
TRAP_HANDLER do_int3, "int3"
TRAP_HANDLER do_overflow, "overflow"
TRAP_HANDLER do_bounds, "bounds"
TRAP_HANDLER do_invalid_op, "invalid operand"
TRAP_HANDLER do_coprocessor_segment_overrun, "coprocessor segment overrun"
TRAP_HANDLER do_reserved, "reserved (15,17-47) error"
TRAP_HANDLER do_coprocessor_error, "coprocessor error"
TRAP_HANDLER do_double_fault, "double fault"
TRAP_HANDLER do_invalid_TSS, "invalid TSS"
TRAP_HANDLER do_segment_not_present, "segment not present"
TRAP_HANDLER do_stack_segment, "stack segment"
TRAP_HANDLER do_general_protection, "general protection"

; set_gate(n, type, addr) helpers: eax = vector, edx = handler, cl = type byte
set_gate:
        push ebx
        mov ebx, edx
        and ebx, 0xffff
        or ebx, KERNEL_CS << 16
        mov [idt + eax*8], ebx
        and edx, 0xffff0000
        movzx ecx, cl
        shl ecx, 8
        or edx, ecx
        mov [idt + eax*8 + 4], edx
        pop ebx
        ret

%macro SET_TRAP_GATE 2                  ; vector, handler: DPL 0 trap gate
        mov eax, %1
        mov edx, %2
        mov cl, 0x8f
        call set_gate
%endmacro
%macro SET_SYSTEM_GATE 2                ; DPL 3 trap gate: user code may "int" it
        mov eax, %1
        mov edx, %2
        mov cl, 0xef
        call set_gate
%endmacro
%macro SET_INTR_GATE 2                  ; DPL 0 interrupt gate (IF cleared)
        mov eax, %1
        mov edx, %2
        mov cl, 0x8e
        call set_gate
%endmacro

trap_init:
        push ebx
        SET_TRAP_GATE 0, divide_error
        SET_TRAP_GATE 1, debug
        SET_TRAP_GATE 2, nmi
        SET_SYSTEM_GATE 3, int3
        SET_SYSTEM_GATE 4, overflow
        SET_SYSTEM_GATE 5, bounds
        SET_TRAP_GATE 6, invalid_op
        SET_TRAP_GATE 7, device_not_available
        SET_TRAP_GATE 8, double_fault
        SET_TRAP_GATE 9, coprocessor_segment_overrun
        SET_TRAP_GATE 10, invalid_TSS
        SET_TRAP_GATE 11, segment_not_present
        SET_TRAP_GATE 12, stack_segment
        SET_TRAP_GATE 13, general_protection
        SET_TRAP_GATE 14, page_fault
        SET_TRAP_GATE 15, reserved
        SET_TRAP_GATE 16, coprocessor_error
        mov ebx, 17
.rest:  mov eax, ebx
        mov edx, reserved
        mov cl, 0x8f
        call set_gate
        inc ebx
        cmp ebx, 32                     ; 0x20..0x2f stay ignore_int except the timer
        jb .rest
        pop ebx
        ret
